using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using System.Linq;
using FineTuning.Monitoring;
using FineTuning.Training;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace FineTuning.Core.Tests.Monitoring;

public sealed class TrainingMeterTests
{
    [Fact]
    public void Train_WithAMeterListener_SeesLossLearningRateGradNormThroughputAndEvalLossOfEveryStep()
    {
        using var factory = new ScopedMeterFactory();
        var seen = new List<(string Instrument, double Value, string? Tag)>();
        using var listener = new MeterListener();
        // Only this test's meter: other tests train in parallel on meters of the same name.
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Meter.Name == TrainingMeter.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => seen.Add((i.Name, v, Tag(tags))));
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => seen.Add((i.Name, v, Tag(tags))));
        listener.Start();

        using var meter = new TrainingMeter(factory);
        using TrainingRun run = ScriptedRun.Train(b => b.WithCallback(meter).WithCallback(new ScriptedRun.WarningInjector(2)));

        double[] Values(string name) => seen.Where(s => s.Instrument == name).Select(s => s.Value).ToArray();
        Assert.Equal(run.History.Select(h => h.Loss), Values("finetuning.training.loss"));
        Assert.Equal(run.History.Select(h => h.LearningRate), Values("finetuning.training.learning_rate"));
        Assert.Equal(run.History.Select(h => h.GradientNorm), Values("finetuning.training.grad_norm"));
        Assert.Equal(run.History.Select(h => h.Duration.TotalSeconds), Values("finetuning.training.step.duration"));
        Assert.Equal(run.History.Select(h => h.Targets / h.Duration.TotalSeconds), Values("finetuning.training.throughput"));
        Assert.Equal(Enumerable.Repeat(1.0, run.History.Count), Values("finetuning.training.steps"));
        Assert.Equal(run.Evaluations.Select(e => e.Loss), Values("finetuning.evaluation.loss"));
        Assert.Equal(("finetuning.training.warnings", 1.0, "overfitting"), seen.Single(s => s.Instrument == "finetuning.training.warnings"));
    }

    [Fact]
    public void OnEvaluate_NamedMetrics_OneMeasurementPerMetricTaggedWithItsName()
    {
        using var factory = new ScopedMeterFactory();
        var seen = new List<(string, double, string?)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) => { if (instrument.Meter.Scope == factory) l.EnableMeasurementEvents(instrument); };
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => seen.Add((i.Name, v, Tag(tags))));
        listener.Start();

        using var meter = new TrainingMeter(factory);
        meter.OnEvaluate(null!, new EvaluationMetrics(3, 1.5, 10) { Metrics = ImmutableDictionary<string, double>.Empty.Add("exact_match", 0.75).Add("accuracy", 0.5) });

        Assert.Equal(new (string, double, string?)[]
        {
            ("finetuning.evaluation.loss", 1.5, null),
            ("finetuning.evaluation.metric", 0.5, "accuracy"),
            ("finetuning.evaluation.metric", 0.75, "exact_match"),
        }, seen);
    }

    [Fact]
    public void AddFineTuning_ContainerWithAMeterFactory_BuildersPublishThroughIt()
    {
        using var factory = new ScopedMeterFactory();
        using ServiceProvider provider = new ServiceCollection().AddSingleton<IMeterFactory>(factory).AddFineTuning().BuildServiceProvider();
        using Testing.Mlp model = Testing.TinyModels.Mlp(2, 4, 2, seed: 1);

        FineTuner<LabeledVector> builder = provider.GetRequiredService<IFineTunerFactory>().For(model, new VectorClassificationObjective());

        TrainingMeter meter = Assert.IsType<TrainingMeter>(Assert.Single(builder.Callbacks));
        Assert.Same(factory, meter.Meter.Scope);
        Assert.Equal(TrainingMeter.MeterName, meter.Meter.Name);
    }

    private static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags) => tags.Length == 0 ? null : tags[0].Value as string;

    /// <summary>An <see cref="IMeterFactory"/> whose meters carry it as their scope (what DI's factory does).</summary>
    private sealed class ScopedMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = new();

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (Meter meter in _meters) meter.Dispose();
        }
    }
}
