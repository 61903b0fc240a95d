using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Testing;
using FineTuning.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FineTuning.Core.Tests.Training;

public sealed class DependencyInjectionTests
{
    [Fact]
    public void AddFineTuning_FactoryAppliesDefaultsAndContainerLogging()
    {
        var logger = new ListLogger();
        using ServiceProvider provider = new ServiceCollection()
            .AddLogging(b => b.AddProvider(logger))
            .AddFineTuning(o => { o.LearningRate = 0.02; o.Epochs = 2; o.BatchSize = 16; o.LogEverySteps = 1; })
            .BuildServiceProvider();
        var factory = provider.GetRequiredService<IFineTunerFactory>();
        using Mlp model = TinyModels.Mlp(2, 4, 2, seed: 1);

        FineTuner<LabeledVector> builder = factory.For(model, new VectorClassificationObjective());
        Assert.Equal(0.02, builder.Options.LearningRate);
        using TrainingRun run = builder.Train(TrainerTests.Rings(32, seed: 1));

        Assert.Equal(4, run.History.Count);
        IEnumerable<string> lines = logger.Entries.Select(e => e.Message);
        Assert.Contains(lines, l => l.StartsWith("Training ", StringComparison.Ordinal) && l.Contains("for 4 steps", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Step 4/4", StringComparison.Ordinal));
    }

    [Fact]
    public void AddFineTuning_BadDefaults_ReportedAtRegistration_AndTryAddKeepsTheFirst()
    {
        var services = new ServiceCollection();
        Assert.Throws<InvalidConfigurationException>(() => services.AddFineTuning(o => { o.BatchSize = 0; o.LearningRate = -1; }));
        services.AddFineTuning(o => o.Epochs = 3).AddFineTuning(o => o.Epochs = 9);
        Assert.Single(services, d => d.ServiceType == typeof(IFineTunerFactory));
    }
}
