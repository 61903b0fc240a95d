using System;
using FineTuning.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;

namespace FineTuning;

/// <summary>The default <see cref="IFineTunerFactory"/>: applies a logger factory and a copy of default options.</summary>
internal sealed class FineTunerFactory : IFineTunerFactory
{
    private readonly ILoggerFactory _loggerFactory;
    private readonly TrainingOptions _defaults;

    public FineTunerFactory(ILoggerFactory loggerFactory, TrainingOptions defaults)
    {
        _loggerFactory = loggerFactory;
        _defaults = defaults.Clone();
    }

    public FineTuner<TExample> For<TExample>(IFineTunable<TExample> model) =>
        FineTuner.For(model).WithOptions(_defaults).WithLogging(_loggerFactory);

    public FineTuner<TExample> For<TExample>(torch.nn.Module model, ITrainingObjective<TExample> objective) =>
        FineTuner.For(model, objective).WithOptions(_defaults).WithLogging(_loggerFactory);
}
