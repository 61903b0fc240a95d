using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Training;

public sealed class ParameterDTypesTests
{
    [Theory]
    [InlineData(DeviceType.CPU, true, ScalarType.BFloat16)]    // avx512_bf16 or AMX
    [InlineData(DeviceType.CPU, false, ScalarType.Float32)]    // emulated bf16: 12-60x slower
    [InlineData(DeviceType.CPU, null, ScalarType.Float32)]     // cannot be told
    [InlineData(DeviceType.CUDA, true, ScalarType.Float32)]    // compute capability not queryable yet
    [InlineData(DeviceType.CUDA, null, ScalarType.Float32)]
    public void Auto_DeviceAndCpuFeatures_PicksTheFastDType(DeviceType device, bool? nativeBFloat16, ScalarType expected)
    {
        Assert.Equal(expected, ParameterDTypes.Auto(device, nativeBFloat16));
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float64)]
    public void Resolve_AsSet_ReturnsParameterDType(ScalarType dtype)
    {
        Assert.Equal(dtype, ParameterDTypes.Resolve(new TrainingOptions { ParameterDType = dtype }, DeviceType.CPU));
    }

    [Fact]
    public void Train_Auto_ConvertsTheModelToThisMachinesChoice()
    {
        using Mlp model = TinyModels.Mlp(4, 8, 2, seed: 3);
        var data = Enumerable.Range(0, 8).Select(i => new LabeledVector(new float[] { i, 1, -i, 0.5f }, i % 2)).ToList();
        using (FineTuner.For(model, new VectorClassificationObjective())
                   .WithOptions(o => { o.MaxSteps = 1; o.BatchSize = 8; o.DTypePolicy = DTypePolicy.Auto; })
                   .Train(data))
        {
        }

        ScalarType expected = CpuFeatures.HasNativeBFloat16 == true ? ScalarType.BFloat16 : ScalarType.Float32;
        Assert.All(model.parameters(), p => Assert.Equal(expected, p.dtype));
    }

    [Fact]
    public void Train_AutoWithParameterDTypeSet_ReportsTheConflict()
    {
        using Mlp model = TinyModels.Mlp(2, 4, 2, seed: 1);
        var builder = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => { o.DTypePolicy = DTypePolicy.Auto; o.ParameterDType = ScalarType.BFloat16; });

        var ex = Assert.Throws<InvalidConfigurationException>(() => builder.Train(new List<LabeledVector> { new(new float[] { 1, 2 }, 0) }));

        string problem = Assert.Single(ex.Problems);
        Assert.Contains("DTypePolicy is Auto but ParameterDType is set to BFloat16", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_UnknownPolicy_ReportsIt()
    {
        using Mlp model = TinyModels.Mlp(2, 4, 2, seed: 1);
        var builder = FineTuner.For(model, new VectorClassificationObjective()).WithOptions(o => o.DTypePolicy = (DTypePolicy)7);

        var ex = Assert.Throws<InvalidConfigurationException>(() => builder.Train(new List<LabeledVector> { new(new float[] { 1, 2 }, 0) }));

        Assert.Contains(ex.Problems, p => p.Contains("DTypePolicy has an unknown value 7", StringComparison.Ordinal));
    }
}
