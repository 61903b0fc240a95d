using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using FineTuning.Models;
using FineTuning.Testing;
using FsCheck;
using FsCheck.Xunit;
using Xunit;

namespace FineTuning.Core.Tests.Adapters;

public sealed class QuantizationConfigFileTests : IDisposable
{
    private readonly TempDirectory _dir = new("qconfig");

    public void Dispose() => _dir.Dispose();

    private string PathOf(string name) => Path.Combine(_dir.Path, name);

    [Property(MaxTest = 100)]
    public bool WriteThenRead_GivesTheConfigAndTheSortedDistinctModules(NonEmptyArray<NonEmptyString> names, bool flag, PositiveInt blockSize)
    {
        string[] modules = names.Get.Select(n => n.Get.Trim().Length == 0 ? "m" : n.Get).ToArray();
        var config = new JsonObject { ["quant_method"] = "x", ["flag"] = flag, ["blocksize"] = blockSize.Get, ["dtype"] = null };
        string path = PathOf("c.json");
        QuantizationConfigFile.Write(path, config, modules);
        (JsonObject read, var readModules) = QuantizationConfigFile.Read(path);
        return JsonNode.DeepEquals(read, config)
            && readModules.SequenceEqual(modules.Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal))
            && !config.ContainsKey(QuantizationConfigFile.ModulesKey)
            && !File.Exists(path + ".tmp");
    }

    [Theory]
    [InlineData("{\n  \"quant_method\": \"x\",\n  \"quantized_modules\": [\"a\",\n}", "line 4: \"quantized_modules[1]\": not valid JSON")]
    [InlineData("[1, 2]", "expected one JSON object")]
    [InlineData("{\"quant_method\": \"x\"}", "expected \"quantized_modules\": a non-empty array of module names")]
    [InlineData("{\"quantized_modules\": []}", "expected \"quantized_modules\": a non-empty array of module names")]
    [InlineData("{\"quantized_modules\": [\"a\", 3]}", "\"quantized_modules\" must hold non-empty strings; found 3")]
    [InlineData("{\"quantized_modules\": [\" \"]}", "must hold non-empty strings")]
    public void Read_BadFiles_NameTheFileAndWhatWasExpected(string text, string expected)
    {
        string path = PathOf("bad.json");
        File.WriteAllText(path, text);
        var e = Assert.Throws<ModelFileException>(() => QuantizationConfigFile.Read(path));
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MissingFile_And_Write_BadArguments_AreClear()
    {
        Assert.Contains("does not exist", Assert.Throws<ModelFileException>(() => QuantizationConfigFile.Read(PathOf("none.json"))).Message, StringComparison.Ordinal);
        Assert.Equal("modules", Assert.Throws<ArgumentException>(() => QuantizationConfigFile.Write(PathOf("w.json"), new JsonObject(), Array.Empty<string>())).ParamName);
        var withList = new JsonObject { [QuantizationConfigFile.ModulesKey] = new JsonArray() };
        Assert.Equal("config", Assert.Throws<ArgumentException>(() => QuantizationConfigFile.Write(PathOf("w.json"), withList, new[] { "a" })).ParamName);
        Assert.False(File.Exists(PathOf("w.json")));
    }
}
