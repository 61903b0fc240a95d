using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.Monitoring;
using FineTuning.Testing;
using FineTuning.Training;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace FineTuning.Core.Tests.Monitoring;

public sealed class MonitoringPropertyTests
{
    [Property(MaxTest = 200)]
    public Property JsonlOnStep_AnyDouble_ReadsBackBitForBitOrAsNullWhenNotFinite(double loss, double gradNorm)
    {
        using var folder = new TempDirectory("ft-jsonl-prop");
        string path = folder.File("m.jsonl");
        using (var writer = new JsonlMetricsWriter(path))
        {
            writer.OnStep(null!, new StepMetrics(3, 1, loss, 1e-4, gradNorm, 5, 1, TimeSpan.FromMilliseconds(2)));
        }

        JsonElement line = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        // Utf8JsonWriter writes the shortest text that round-trips, so a finite value comes back exactly.
        bool Same(string key, double value) => double.IsFinite(value)
            ? line.GetProperty(key).GetDouble() == value
            : line.GetProperty(key).ValueKind == JsonValueKind.Null;
        return (Same("loss", loss) && Same("grad_norm", gradNorm)).ToProperty();
    }

    [Property(MaxTest = 100)]
    public Property TensorBoardAddScalar_AnyTagValueAndStep_TheIndependentReaderGetsThemBack(NonEmptyString tag, NormalFloat value, PositiveInt step)
    {
        string text = tag.Get.Replace("\0", "", StringComparison.Ordinal);
        if (text.Length == 0 || text.Any(char.IsSurrogate)) return true.ToProperty(); // tags are valid UTF-16 text
        using var folder = new TempDirectory("ft-tb-prop");
        string path;
        using (TensorBoardEventWriter writer = TensorBoardEventWriter.Create(folder.Path))
        {
            path = writer.Path;
            writer.AddScalar(text, value.Get, step.Get);
        }

        TensorBoardReader.Event e = TensorBoardReader.Read(path)[1];
        (string readTag, float readValue) = e.Scalars.Single();
        return (readTag == text && readValue == (float)value.Get && e.Step == step.Get).ToProperty();
    }
}
