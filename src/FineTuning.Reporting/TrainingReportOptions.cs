using FineTuning.Data;

namespace FineTuning.Reporting;

/// <summary>What goes into a training report besides the run itself.</summary>
public sealed class TrainingReportOptions
{
    /// <summary>The page title. Default "Training report".</summary>
    public string Title { get; set; } = "Training report";

    /// <summary>The data validation report of the training set (e.g. from the SFT data path), shown in its own section; null leaves it out.</summary>
    public DataValidationReport? DataReport { get; set; }

    /// <summary>Width of each chart in pixels. Default 900.</summary>
    public int ChartWidth { get; set; } = 900;

    /// <summary>Height of each chart in pixels. Default 380.</summary>
    public int ChartHeight { get; set; } = 380;

    internal TrainingReportOptions Clone() => (TrainingReportOptions)MemberwiseClone();

    internal void Validate()
    {
        if (ChartWidth is < 100 or > 8000) throw new System.ArgumentOutOfRangeException(nameof(ChartWidth), ChartWidth, "ChartWidth must be between 100 and 8000 pixels.");
        if (ChartHeight is < 100 or > 8000) throw new System.ArgumentOutOfRangeException(nameof(ChartHeight), ChartHeight, "ChartHeight must be between 100 and 8000 pixels.");
    }
}
