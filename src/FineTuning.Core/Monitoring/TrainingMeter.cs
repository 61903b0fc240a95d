using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using FineTuning.Training;

namespace FineTuning.Monitoring;

/// <summary>
/// Publishes a run's metrics through <see cref="System.Diagnostics.Metrics"/> on the meter <see cref="MeterName"/>, for
/// OpenTelemetry (<c>AddMeter("FineTuning.Training")</c>), <c>dotnet-counters</c> or a <see cref="MeterListener"/>.
/// Instruments (OpenTelemetry naming; <c>finetuning.training.*</c> per applied step, <c>finetuning.evaluation.*</c>
/// per evaluation):
/// <list type="bullet">
/// <item><c>finetuning.training.loss</c> (histogram), <c>finetuning.training.learning_rate</c> (gauge),
/// <c>finetuning.training.grad_norm</c> (histogram), <c>finetuning.training.throughput</c> (gauge, <c>{token}/s</c>: the
/// step's targets over its wall time), <c>finetuning.training.step.duration</c> (histogram, <c>s</c>),
/// <c>finetuning.training.steps</c> (counter), <c>finetuning.training.warnings</c> (counter, tag
/// <c>finetuning.warning.code</c>);</item>
/// <item><c>finetuning.evaluation.loss</c> (gauge) and <c>finetuning.evaluation.metric</c> (gauge, one measurement per
/// named metric, tag <c>finetuning.metric.name</c>).</item>
/// </list>
/// Every run publishes through one of these: the trainer creates one (a plain <see cref="Meter"/>, disposed with the
/// run) unless a <see cref="TrainingMeter"/> was added with <c>WithCallback</c>, e.g. one built on an
/// <see cref="IMeterFactory"/> from dependency injection.
/// </summary>
public sealed class TrainingMeter : ITrainingCallback, IDisposable
{
    /// <summary>The meter's name: <c>FineTuning.Training</c>.</summary>
    public const string MeterName = "FineTuning.Training";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Histogram<double> _loss;
    private readonly Gauge<double> _learningRate;
    private readonly Histogram<double> _gradNorm;
    private readonly Gauge<double> _throughput;
    private readonly Histogram<double> _stepDuration;
    private readonly Counter<long> _steps;
    private readonly Counter<long> _warnings;
    private readonly Gauge<double> _evalLoss;
    private readonly Gauge<double> _evalMetric;

    /// <summary>Creates the meter through <paramref name="meterFactory"/> (which then owns it), or a plain one owned by this object.</summary>
    public TrainingMeter(IMeterFactory? meterFactory = null)
    {
        string? version = typeof(TrainingMeter).Assembly.GetName().Version?.ToString();
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(new MeterOptions(MeterName) { Version = version }) ?? new Meter(MeterName, version);
        _loss = _meter.CreateHistogram<double>("finetuning.training.loss", null, "Mean loss per target of an optimizer step.");
        _learningRate = _meter.CreateGauge<double>("finetuning.training.learning_rate", null, "Learning rate of the last optimizer step.");
        _gradNorm = _meter.CreateHistogram<double>("finetuning.training.grad_norm", null, "Global L2 norm of the gradients before clipping.");
        _throughput = _meter.CreateGauge<double>("finetuning.training.throughput", "{token}/s", "Targets (tokens for language models) per second of the last step.");
        _stepDuration = _meter.CreateHistogram<double>("finetuning.training.step.duration", "s", "Wall time of an optimizer step.");
        _steps = _meter.CreateCounter<long>("finetuning.training.steps", "{step}", "Optimizer steps applied.");
        _warnings = _meter.CreateCounter<long>("finetuning.training.warnings", "{warning}", "Warnings raised (overfitting, forgetting, ...).");
        _evalLoss = _meter.CreateGauge<double>("finetuning.evaluation.loss", null, "Mean loss per target on the validation set.");
        _evalMetric = _meter.CreateGauge<double>("finetuning.evaluation.metric", null, "A named task metric on the validation set (tag finetuning.metric.name).");
    }

    /// <summary>The meter the instruments belong to.</summary>
    public Meter Meter => _meter;

    /// <inheritdoc />
    public void OnStep(TrainingRun run, StepMetrics step)
    {
        ArgumentNullException.ThrowIfNull(step);
        _loss.Record(step.Loss);
        _learningRate.Record(step.LearningRate);
        _gradNorm.Record(step.GradientNorm);
        double seconds = step.Duration.TotalSeconds;
        if (seconds > 0) _throughput.Record(step.Targets / seconds);
        _stepDuration.Record(seconds);
        _steps.Add(1);
    }

    /// <inheritdoc />
    public void OnEvaluate(TrainingRun run, EvaluationMetrics evaluation)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        _evalLoss.Record(evaluation.Loss);
        foreach (KeyValuePair<string, double> metric in MetricNames.Ordered(evaluation.Metrics))
            _evalMetric.Record(metric.Value, new KeyValuePair<string, object?>("finetuning.metric.name", metric.Key));
    }

    /// <inheritdoc />
    public void OnWarning(TrainingRun run, TrainingWarning warning)
    {
        ArgumentNullException.ThrowIfNull(warning);
        _warnings.Add(1, new KeyValuePair<string, object?>("finetuning.warning.code", warning.Code));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
