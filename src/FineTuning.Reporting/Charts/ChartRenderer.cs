using System;
using System.Collections.Generic;
using System.Linq;
using ScottPlot;

namespace FineTuning.Reporting.Charts;

/// <summary>Draws a <see cref="ChartSpec"/> as a PNG with ScottPlot (SkiaSharp underneath; no system fonts needed).</summary>
internal static class ChartRenderer
{
    private static readonly Color[] Palette = { new(31, 119, 180), new(214, 39, 40), new(44, 160, 44), new(148, 103, 189) };
    private static readonly Color BestColor = new(44, 160, 44);
    private static readonly Color WarningColor = new(230, 140, 0);

    public static byte[] Png(ChartSpec chart, int width, int height)
    {
        var plot = new Plot();
        try
        {
            plot.Title(chart.Title);
            plot.XLabel("step");
            plot.YLabel(chart.YLabel);
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true }; // steps
            bool legend = chart.Lines.Count > 1 || chart.Markers.Count > 0;
            int index = 0;
            double low = double.PositiveInfinity, high = double.NegativeInfinity;
            foreach (ChartLine line in chart.Lines)
            {
                (double[] xs, double[] ys) = Finite(line.Steps, line.Values);
                if (xs.Length == 0) continue;
                var scatter = plot.Add.Scatter(xs, ys, Palette[index++ % Palette.Length]);
                if (legend) scatter.LegendText = line.Label;
                scatter.LineWidth = 2;
                scatter.MarkerSize = line.Markers ? 7 : 0;
                low = Math.Min(low, ys.Min());
                high = Math.Max(high, ys.Max());
            }
            foreach (ChartMarker marker in chart.Markers)
            {
                var vertical = plot.Add.VerticalLine(marker.Step, 1.5f, marker.IsWarning ? WarningColor : BestColor);
                vertical.LinePattern = LinePattern.Dashed;
                vertical.LegendText = marker.Label + " @ " + marker.Step.ToString("0", System.Globalization.CultureInfo.InvariantCulture);
            }
            if (legend) plot.ShowLegend(Alignment.UpperRight);
            else plot.HideLegend();
            plot.Axes.AutoScale();
            // A constant series (a constant learning rate) autoscales to [-1, 1] around 0: give it a range around its value.
            if (low == high) plot.Axes.SetLimitsY(low == 0 ? -1 : low - Math.Abs(low) * 0.5, low == 0 ? 1 : high + Math.Abs(high) * 0.5);
            return plot.GetImageBytes(width, height, ImageFormat.Png);
        }
        finally
        {
            plot.Dispose();
        }
    }

    private static (double[] Xs, double[] Ys) Finite(IReadOnlyList<double> xs, IReadOnlyList<double> ys)
    {
        int[] keep = Enumerable.Range(0, xs.Count).Where(i => double.IsFinite(xs[i]) && double.IsFinite(ys[i])).ToArray();
        return (keep.Select(i => xs[i]).ToArray(), keep.Select(i => ys[i]).ToArray());
    }
}
