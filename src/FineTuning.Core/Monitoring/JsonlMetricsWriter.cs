using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using FineTuning.Training;

namespace FineTuning.Monitoring;

/// <summary>
/// Writes a run's metrics as JSON Lines while it trains: one object per optimizer step (<c>step</c>, <c>epoch</c>,
/// <c>loss</c>, <c>learning_rate</c>, <c>grad_norm</c>, <c>num_targets</c>, <c>step_seconds</c>), per evaluation
/// (<c>step</c>, <c>eval_loss</c>, <c>eval_perplexity</c>, <c>eval_num_targets</c>, <c>eval_&lt;metric&gt;</c> for every
/// named metric) and per warning (<c>step</c>, <c>warning</c>, <c>message</c>): the keys of Hugging Face's
/// <c>log_history</c>. Each line is appended and flushed as it happens, so a killed run keeps its log; an existing file
/// is appended to (a resumed run continues it). Non-finite numbers are written as <c>null</c>.
/// <see cref="TrainingOptions.LoggingDirectory"/> adds one writing <see cref="DefaultFileName"/>.
/// </summary>
public sealed class JsonlMetricsWriter : ITrainingCallback, IDisposable
{
    /// <summary>The file name used in <see cref="TrainingOptions.LoggingDirectory"/>.</summary>
    public const string DefaultFileName = "metrics.jsonl";

    private readonly FileStream _stream;
    private readonly Utf8JsonWriter _json;

    /// <summary>Opens (or creates) <paramref name="path"/> for appending; its folder is created when missing.</summary>
    public JsonlMetricsWriter(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read);
        _json = new Utf8JsonWriter(_stream);
    }

    /// <summary>The full path of the file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public void OnStep(TrainingRun run, StepMetrics step)
    {
        ArgumentNullException.ThrowIfNull(step);
        WriteLine(json =>
        {
            json.WriteNumber("step", step.Step);
            json.WriteNumber("epoch", step.Epoch);
            Number(json, "loss", step.Loss);
            Number(json, "learning_rate", step.LearningRate);
            Number(json, "grad_norm", step.GradientNorm);
            json.WriteNumber("num_targets", step.Targets);
            Number(json, "step_seconds", step.Duration.TotalSeconds);
        });
    }

    /// <inheritdoc />
    public void OnEvaluate(TrainingRun run, EvaluationMetrics evaluation)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        WriteLine(json =>
        {
            json.WriteNumber("step", evaluation.Step);
            Number(json, "eval_loss", evaluation.Loss);
            Number(json, "eval_perplexity", evaluation.Perplexity);
            json.WriteNumber("eval_num_targets", evaluation.Targets);
            foreach (KeyValuePair<string, double> metric in MetricNames.Ordered(evaluation.Metrics))
                Number(json, "eval_" + metric.Key, metric.Value);
        });
    }

    /// <inheritdoc />
    public void OnWarning(TrainingRun run, TrainingWarning warning)
    {
        ArgumentNullException.ThrowIfNull(warning);
        WriteLine(json =>
        {
            json.WriteNumber("step", warning.Step);
            json.WriteString("warning", warning.Code);
            json.WriteString("message", warning.Message);
        });
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _json.Dispose();
        _stream.Dispose();
    }

    private void WriteLine(Action<Utf8JsonWriter> body)
    {
        _json.Reset();
        _json.WriteStartObject();
        body(_json);
        _json.WriteEndObject();
        _json.Flush();
        _stream.WriteByte((byte)'\n');
        _stream.Flush(flushToDisk: false);
    }

    private static void Number(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value)) json.WriteNumber(name, value);
        else json.WriteNull(name);
    }
}
