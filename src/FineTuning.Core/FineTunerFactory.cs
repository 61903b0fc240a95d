using System.Diagnostics.Metrics;
using FineTuning.Monitoring;
using FineTuning.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;

namespace FineTuning;

/// <summary>
/// The default <see cref="IFineTunerFactory"/>: applies a logger factory and a copy of default options, and, when the
/// container has an <see cref="IMeterFactory"/>, publishes the runs' metrics through a meter created by it.
/// </summary>
internal sealed class FineTunerFactory : IFineTunerFactory
{
    private readonly ILoggerFactory _loggerFactory;
    private readonly TrainingOptions _defaults;
    private readonly TrainingMeter? _meter;

    public FineTunerFactory(ILoggerFactory loggerFactory, TrainingOptions defaults, IMeterFactory? meterFactory = null)
    {
        _loggerFactory = loggerFactory;
        _defaults = defaults.Clone();
        _meter = meterFactory is null ? null : new TrainingMeter(meterFactory); // the meter factory owns and disposes its meter
    }

    public FineTuner<TExample> For<TExample>(IFineTunable<TExample> model) => Configure(FineTuner.For(model));

    public FineTuner<TExample> For<TExample>(torch.nn.Module model, ITrainingObjective<TExample> objective) =>
        Configure(FineTuner.For(model, objective));

    private FineTuner<TExample> Configure<TExample>(FineTuner<TExample> builder)
    {
        builder = builder.WithOptions(_defaults).WithLogging(_loggerFactory);
        return _meter is null ? builder : builder.WithCallback(_meter);
    }
}
