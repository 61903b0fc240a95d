using System;
using System.Collections.Generic;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;

namespace FineTuning.Core.Tests.Training;

public sealed class BuilderTests
{
    [Fact]
    public void Train_ManyBadOptions_ReportsEveryProblemInOneException()
    {
        using Mlp model = TinyModels.Mlp(2, 4, 2, seed: 1);
        var builder = FineTuner.For(model, new VectorClassificationObjective()).WithOptions(o =>
        {
            o.Epochs = 0;
            o.BatchSize = 0;
            o.GradientAccumulationSteps = -1;
            o.LearningRate = double.NaN;
            o.WarmupRatio = 1.5;
            o.MaxGradNorm = -1;
            o.ParameterDType = torch.ScalarType.Float16;
            o.Optimizer = new AdamWOptimizer(Beta1: 1.0);
            o.HeapTrimEverySteps = -1;
            o.NativeAllocatorMmapThreshold = 1000; // below glibc's 64 KiB floor (checked even while TuneNativeAllocator is off)
        });

        var ex = Assert.Throws<InvalidConfigurationException>(() => builder.Train(new List<LabeledVector>()));

        string[] expected = { "Epochs", "BatchSize", "GradientAccumulationSteps", "LearningRate", "WarmupRatio", "MaxGradNorm", "ParameterDType", "Beta1", "HeapTrimEverySteps", "NativeAllocatorMmapThreshold", "training data is empty" };
        Assert.Equal(expected.Length, ex.Problems.Count);
        foreach (string word in expected) Assert.Contains(ex.Problems, p => p.Contains(word, StringComparison.Ordinal));
        foreach (string p in ex.Problems) Assert.Contains(p, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithOptions_ReturnsNewBuilder_LeavesOriginalAndCallerObjectUnchanged()
    {
        using Mlp model = TinyModels.Mlp(2, 4, 2, seed: 1);
        var first = FineTuner.For(model, new VectorClassificationObjective());
        var options = new TrainingOptions { LearningRate = 0.5 };
        var second = first.WithOptions(options);
        options.LearningRate = 0.9; // the builder copied the options when they were passed in
        var third = second.WithOptions(o => o.Epochs = 7);

        Assert.NotSame(first, second);
        Assert.Equal(5e-5, first.Options.LearningRate);
        Assert.Equal(0.5, second.Options.LearningRate);
        Assert.Equal(1, second.Options.Epochs);
        Assert.Equal(7, third.Options.Epochs);
        Assert.Equal(0.5, third.Options.LearningRate);
        second.Options.LearningRate = 3; // Options returns a copy
        Assert.Equal(0.5, second.Options.LearningRate);
    }

    [Fact]
    public void With_NullArguments_ThrowAtOnce()
    {
        using Mlp model = TinyModels.Mlp(2, 4, 2, seed: 1);
        var builder = FineTuner.For(model, new VectorClassificationObjective());
        Assert.Throws<ArgumentNullException>(() => builder.WithOptions((TrainingOptions)null!));
        Assert.Throws<ArgumentNullException>(() => builder.WithLogging(null!));
        Assert.Throws<ArgumentException>(() => builder.WithValidation(Array.Empty<LabeledVector>()));
        Assert.Throws<ArgumentNullException>(() => FineTuner.For<LabeledVector>(null!, new VectorClassificationObjective()));
    }

    [Fact]
    public void Train_FrozenModel_ReportsNoTrainableParameters()
    {
        using Mlp model = TinyModels.Mlp(2, 4, 2, seed: 1);
        foreach (var p in model.parameters()) p.requires_grad = false;
        var ex = Assert.Throws<InvalidConfigurationException>(() =>
            FineTuner.For(model, new VectorClassificationObjective()).Train(TrainerTests.Rings(8, 1)));
        Assert.Contains(ex.Problems, p => p.Contains("no trainable parameters", StringComparison.Ordinal));
    }
}
