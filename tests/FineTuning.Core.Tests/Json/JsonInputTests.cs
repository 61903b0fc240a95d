using System;
using System.Linq;
using System.Text;
using System.Text.Json;
using FineTuning.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace FineTuning.Core.Tests.Json;

/// <summary>The guarded JSON layer: what it refuses, where it says the problem is, and that it never throws anything else.</summary>
public sealed class JsonInputTests
{
    private sealed class Refused(string? field, long line, string problem) : Exception(problem)
    {
        internal string? Field { get; } = field;

        internal long Line { get; } = line;
    }

    private static readonly JsonErrorFactory Error = (field, line, problem) => new Refused(field, line, problem);

    [Theory]
    [InlineData("{\n  \"a\": 1,\n  \"b\": \"\\ud800\"\n}", "b", 3, "lone surrogate")]
    [InlineData("{\n  \"a\": {\"b\": 1,\n \"b\": 2}}", "a.b", 3, "appears more than once")]
    [InlineData("{\"a\": [1, {\"\\udc00\": 2}]}", "a[1]", 1, "lone surrogate")]
    [InlineData("{\"a\": [1, 2,\n /* no */ 3]}", "a[2]", 2, "not valid JSON")]
    [InlineData("{\"a\": \"\u00e9\"}", null, 0, "")]
    public void Parse_Problem_IsRefusedWithPathAndLine(string json, string? field, long line, string problem)
    {
        if (problem.Length == 0)
        {
            using JsonDocument accepted = JsonInput.Parse(json, Error, JsonLimits.Strict);
            Assert.Equal("\u00e9", accepted.RootElement.GetProperty("a").GetString());
            return;
        }

        var e = Assert.Throws<Refused>(() => JsonInput.Parse(json, Error, JsonLimits.Strict));

        Assert.Equal((field, line), (e.Field, e.Line));
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_InvalidUtf8InsideString_IsRefusedWithItsLine()
    {
        byte[] bytes = [.. "{\n\"a\": \""u8, 0xC3, 0x28, .. "\"}"u8];

        var e = Assert.Throws<Refused>(() => JsonInput.Parse(bytes, Error, JsonLimits.Strict));

        Assert.Equal(2, e.Line);
        Assert.Contains("not valid UTF-8", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(64, true)]
    [InlineData(65, false)]
    [InlineData(100_000, false)]
    public void Parse_Nesting_AcceptedUpToTheLimit(int depth, bool accepted)
    {
        string json = new string('[', depth) + new string(']', depth);

        if (accepted) JsonInput.Parse(json, Error, JsonLimits.Strict).Dispose();
        else Assert.Contains("nested deeper than 64", Assert.Throws<Refused>(() => JsonInput.Parse(json, Error, JsonLimits.Strict)).Message, StringComparison.Ordinal);
    }

    [Property(MaxTest = 500)]
    public bool Parse_ArbitraryText_ParsesOrThrowsTheCallersException(NonNull<string> text)
    {
        try
        {
            using JsonDocument document = JsonInput.Parse(text.Get, Error, JsonLimits.Strict);
            return true;
        }
        catch (Refused)
        {
            return true;
        }
    }

    [Property(MaxTest = 300)]
    public bool Parse_ArbitraryBytes_ParsesOrThrowsTheCallersException(byte[] bytes)
    {
        try
        {
            using JsonDocument document = JsonInput.Parse(bytes ?? [], Error, JsonLimits.Strict);
            return true;
        }
        catch (Refused)
        {
            return true;
        }
    }

    [Theory]
    [InlineData("2147483648", "[-2147483648, 2147483647]")]
    [InlineData("1.5", "integer")]
    [InlineData("\"7\"", "integer")]
    [InlineData("null", "got null")]
    public void RequiredInt_WrongValue_NamesTheFieldAndTheRange(string value, string expected)
    {
        using JsonDocument doc = JsonInput.Parse("{\"a\": {\"n\": " + value + "}}", Error, JsonLimits.Strict);
        var fields = new JsonFieldReader(Error);

        var e = Assert.Throws<Refused>(() => fields.RequiredInt(doc.RootElement.GetProperty("a"), "a", "n"));

        Assert.Equal("a.n", e.Field);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1e400")]
    [InlineData("-1e400")]
    [InlineData("1e308")]
    public void OptionalDouble_OutOfRange_IsRefused(string value)
    {
        using JsonDocument doc = JsonInput.Parse("{\"x\": " + value + "}", Error, JsonLimits.Strict);

        Assert.Throws<Refused>(() => new JsonFieldReader(Error).OptionalDouble(doc.RootElement, null, "x", 0, -1e6, 1e6));
    }
}
