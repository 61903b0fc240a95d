using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Evaluation;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace FineTuning.Core.Tests.Evaluation;

public sealed class ClassificationReportTests
{
    [Fact]
    public void FromPredictions_HandBuiltThreeClasses_MatchesHandComputedReport()
    {
        // labels    0 0 1 1 2 2
        // predicted 0 1 1 1 2 0
        var report = ClassificationReport.FromPredictions(new long[] { 0, 0, 1, 1, 2, 2 }, new long[] { 0, 1, 1, 1, 2, 0 });

        long[,] matrix = { { 1, 1, 0 }, { 0, 2, 0 }, { 1, 0, 1 } };
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++)
                Assert.Equal(matrix[r, c], report[r, c]);
        Assert.Equal(4.0 / 6, report.Accuracy, 15);
        Assert.Equal(new[] { 1.0 / 2, 2.0 / 3, 1.0 }, report.Precision.ToArray(), new Close(1e-15));
        Assert.Equal(new[] { 1.0 / 2, 1.0, 1.0 / 2 }, report.Recall.ToArray(), new Close(1e-15));
        Assert.Equal(new[] { 0.5, 0.8, 2.0 / 3 }, report.F1.ToArray(), new Close(1e-15));
        Assert.Equal((0.5 + 0.8 + (2.0 / 3)) / 3, report.MacroF1, 15);
        Assert.Equal(new long[] { 2, 2, 2 }, report.Support.ToArray());
        Assert.Equal(new Dictionary<string, double> { ["accuracy"] = 4.0 / 6, ["macro_f1"] = report.MacroF1 }, report.ToMetrics());
    }

    [Fact]
    public void FromPredictions_ClassNeverSeenNorPredicted_CountsZeroInMacroF1()
    {
        // scikit-learn: f1_score([0, 1], [0, 1], labels=[0, 1, 2], average="macro", zero_division=0) == 2/3
        var report = ClassificationReport.FromPredictions(new long[] { 0, 1 }, new long[] { 0, 1 }, classes: 3);
        Assert.Equal(1.0, report.Accuracy);
        Assert.Equal(2.0 / 3, report.MacroF1, 15);
        Assert.Equal(0, report.Precision[2]);
        Assert.Equal(0, report.Recall[2]);
    }

    [Fact]
    public void FromPredictions_LengthsDiffer_ThrowsNamingBothCounts()
    {
        var e = Assert.Throws<ArgumentException>(() => ClassificationReport.FromPredictions(new long[] { 0, 1 }, new long[] { 0 }));
        Assert.Contains("2 labels but 1 predictions", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPredictions_LabelOutOfRange_ThrowsNamingIndexAndRange()
    {
        var e = Assert.Throws<ArgumentException>(() => ClassificationReport.FromPredictions(new long[] { 0, 3 }, new long[] { 0, 1 }, classes: 2));
        Assert.Contains("label at index 1 is 3; expected a class in [0, 2)", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ClassificationReport.FromPredictions(new long[] { 0 }, new long[] { -1 }, classes: 2));
    }

    private static readonly Gen<(long[] Labels, long[] Predictions, int Classes)> Predictions =
        from classes in Gen.Choose(1, 6)
        from count in Gen.Choose(0, 40)
        from labels in Gen.ArrayOf(Gen.Choose(0, classes - 1).Select(v => (long)v), count)
        from predictions in Gen.ArrayOf(Gen.Choose(0, classes - 1).Select(v => (long)v), count)
        select (labels, predictions, classes);

    [Property(MaxTest = 300, Replay = "(20261206,1)")]
    public Property FromPredictions_AnyPredictions_MacroF1InUnitIntervalAndAccuracyIsTraceOverTotal() =>
        Prop.ForAll(Arb.From(Predictions), p =>
        {
            var report = ClassificationReport.FromPredictions(p.Labels, p.Predictions, p.Classes);
            long trace = Enumerable.Range(0, p.Classes).Sum(c => report[c, c]);
            long total = Enumerable.Range(0, p.Classes).Sum(r => Enumerable.Range(0, p.Classes).Sum(c => report[r, c]));
            double accuracy = total == 0 ? 0 : trace / (double)total;
            return report.MacroF1 >= 0 && report.MacroF1 <= 1
                && total == p.Labels.Length
                && report.Accuracy == accuracy
                && report.Accuracy == p.Labels.Zip(p.Predictions).Count(x => x.First == x.Second) / (double)Math.Max(1, p.Labels.Length);
        });

    private sealed class Close(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
