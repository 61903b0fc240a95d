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
            int index = 0;
            foreach (ChartLine line in chart.Lines)
            {
                (double[] xs, double[] ys) = Finite(line.Steps, line.Values);
                if (xs.Length == 0) continue;
                var scatter = plot.Add.Scatter(xs, ys, Palette[index++ % Palette.Length]);
                scatter.LegendText = line.Label;
                scatter.LineWidth = 2;
                scatter.MarkerSize = line.Markers ? 7 : 0;
            }
            foreach (ChartMarker marker in chart.Markers)
            {
                var vertical = plot.Add.VerticalLine(marker.Step, 1.5f, marker.IsWarning ? WarningColor : BestColor);
                vertical.LinePattern = LinePattern.Dashed;
                vertical.LegendText = marker.Label + " @ " + marker.Step.ToString("0", System.Globalization.CultureInfo.InvariantCulture);
            }
            if (chart.Lines.Count > 1 || chart.Markers.Count > 0) plot.ShowLegend(Alignment.UpperRight);
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
