using System.Collections.Generic;

namespace FineTuning.Reporting.Charts;

/// <summary>One line of a chart: y over optimizer steps (non-finite points are left out when drawn).</summary>
internal sealed record ChartLine(string Label, IReadOnlyList<double> Steps, IReadOnlyList<double> Values, bool Markers);

/// <summary>A vertical marker at a step (the restored best evaluation, a warning).</summary>
internal sealed record ChartMarker(double Step, string Label, bool IsWarning);

/// <summary>A chart of the report: <see cref="Name"/> is its file stem (<c>loss</c> gives <c>loss.png</c>).</summary>
internal sealed record ChartSpec(string Name, string Title, string YLabel, IReadOnlyList<ChartLine> Lines, IReadOnlyList<ChartMarker> Markers);
