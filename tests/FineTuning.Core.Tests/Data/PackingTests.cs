using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Data;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Data;

public sealed class PackingTests
{
    private static readonly TokenSequence[] Examples =
    {
        new(new long[] { 1, 5, 6, 7, 8, 2 }, new long[] { -100, -100, -100, 7, 8, 2 }),
        TokenSequence.ForLanguageModeling(new long[] { 1, 9, 10, 2 }),
        new(new long[] { 1, 11, 12, 13, 14, 15, 16, 2 }, new long[] { -100, -100, -100, -100, 14, 15, 16, 2 }),
        TokenSequence.ForLanguageModeling(new long[] { 1, 20, 2 }),
        new(new long[] { 1, 30, 31, 32, 33 }, new long[] { -100, -100, 31, -100, 33 }),
    };

    [Fact]
    public void Pack_FirstFit_KeepsEveryExampleWholeAndEveryTarget()
    {
        IReadOnlyList<PackedSequence> rows = SequencePacker.Pack(Examples, maxLength: 12);
        // 6 -> row0 (6 left), 4 -> row0 (2 left), 8 -> row1 (4 left), 3 -> row1 (1 left), 5 -> row2.
        Assert.Equal(new[] { 10, 11, 5 }, rows.Select(r => r.Length));
        Assert.Equal(new[] { 2, 2, 1 }, rows.Select(r => r.ExampleCount));
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5, 0, 1, 2, 3 }, rows[0].PositionIds);
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 1, 2, 2, 2, 2 }, rows[0].SequenceIds);
        Assert.Equal(-100, rows[0].Labels[6]); // first token of the second example predicts nothing across the boundary
        Assert.Equal(Examples.Sum(e => e.TargetCount), rows.Sum(r => r.TargetCount));
        // Rows hold examples 0,1 | 2,3 | 4 here, so concatenated they are the input.
        Assert.Equal(Examples.SelectMany(e => e.InputIds), rows.SelectMany(r => r.InputIds));
        Assert.Throws<ArgumentException>(() => SequencePacker.Pack(Examples, maxLength: 7));
    }

    [Fact]
    public void BlockDiagonalCausalMask_AttendsWithinExampleOnly()
    {
        using Tensor ids = tensor(new long[] { 1, 1, 2, 2, 2, 0 }, new long[] { 1, 6 });
        using Tensor mask = PackedAttention.BlockDiagonalCausalMask(ids);
        Assert.Equal(new long[] { 1, 1, 6, 6 }, mask.shape);
        bool[] m = mask.data<bool>().ToArray();
        bool At(int q, int k) => m[(q * 6) + k];
        Assert.True(At(1, 0) && At(1, 1) && !At(1, 2));
        Assert.True(At(4, 2) && At(4, 3) && At(4, 4) && !At(4, 1) && !At(3, 4));
        Assert.True(At(5, 5) && !At(5, 4));
    }

    [Fact]
    public void SummedLoss_PackedVersusUnpacked_SameLossAndGradients()
    {
        // float64: packing claims the same function (block-diagonal mask + per-example positions), so only rounding may differ.
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(), dtype: ScalarType.Float64);
        IReadOnlyList<PackedSequence> rows = SequencePacker.Pack(Examples, maxLength: 12);
        var unpacked = new CausalLMObjective();
        var packed = new PackedCausalLMObjective();
        Assert.Equal(unpacked.CountTargets(Examples), packed.CountTargets(rows.ToList()));

        (double lossU, Dictionary<string, Tensor> gradU) = LossAndGradients(model, () => unpacked.SummedLoss(model, Examples, CPU) / unpacked.CountTargets(Examples));
        (double lossP, Dictionary<string, Tensor> gradP) = LossAndGradients(model, () => packed.SummedLoss(model, rows.ToList(), CPU) / packed.CountTargets(rows.ToList()));

        Assert.Equal(lossU, lossP, Tolerance.Fp64Same(lossU));
        Assert.True(lossU > 1);
        foreach ((string name, Tensor g) in gradU)
        {
            Assert.True(g.allclose(gradP[name], rtol: 1e-9, atol: Tolerance.Fp64Same()), $"gradient of {name} differs: max {(g - gradP[name]).abs().max().item<double>()}");
            g.Dispose();
            gradP[name].Dispose();
        }
    }

    [Fact]
    public void Forward_FourDimensionalMaskOfWrongShape_IsRejected()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        using Tensor ids = tensor(new long[] { 1, 5, 6 }, new long[] { 1, 3 });
        using Tensor wrong = ones(1, 1, 3, 4, dtype: ScalarType.Bool);
        using Tensor notBool = ones(1, 1, 3, 3);
        Assert.Throws<ArgumentException>(() => model.Forward(ids, wrong));
        Assert.Throws<ArgumentException>(() => model.Forward(ids, notBool));
    }

    [Fact]
    public void Train_PackedRowsThroughTheTrainer_LossFalls()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        var rows = SequencePacker.Pack(Examples, maxLength: 12).ToList();
        using TrainingRun run = FineTuner.For(model, new PackedCausalLMObjective())
            .WithOptions(o => { o.BatchSize = 2; o.MaxSteps = 12; o.LearningRate = 1e-2; o.Schedule = new ConstantSchedule(); })
            .Train(rows);
        Assert.True(run.History[^1].Loss < run.History[0].Loss);
    }

    [Fact]
    public void Train_OneStepPackedWithAccumulationVersusUnpacked_SameLossAndWeights()
    {
        // float64 models and optimizer state: the two runs claim the same step, so only rounding may differ (in float32,
        // AdamW's first step, lr * g / |g|, turns rounding differences of near-zero gradients into full-size updates).
        using LlamaForCausalLM unpackedModel = TinyLlama.Create(TinyLlama.Config(), dtype: ScalarType.Float64);
        using LlamaForCausalLM packedModel = TinyLlama.Create(TinyLlama.Config(), dtype: ScalarType.Float64);
        var rows = SequencePacker.Pack(Examples, maxLength: 12).ToList();

        // One optimizer step over all the data: unpacked as one micro-batch of 5, packed as 3 micro-batches of 1 row
        // (gradient accumulation), so the trainer's division by the step's target count is exercised too.
        using TrainingRun a = FineTuner.For(unpackedModel, new CausalLMObjective())
            .WithOptions(o => { o.BatchSize = 5; o.MaxSteps = 1; o.Shuffle = false; o.LearningRate = 1e-2; o.MaxGradNorm = null; o.ParameterDType = ScalarType.Float64; })
            .Train(Examples);
        using TrainingRun b = FineTuner.For(packedModel, new PackedCausalLMObjective())
            .WithOptions(o => { o.BatchSize = 1; o.GradientAccumulationSteps = 3; o.MaxSteps = 1; o.Shuffle = false; o.LearningRate = 1e-2; o.MaxGradNorm = null; o.ParameterDType = ScalarType.Float64; })
            .Train(rows);

        Assert.Equal(a.History[0].Loss, b.History[0].Loss, Tolerance.Fp64Same(a.History[0].Loss));
        Assert.Equal(a.History[0].Targets, b.History[0].Targets);
        var after = packedModel.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (LlamaForCausalLM untouched = TinyLlama.Create(TinyLlama.Config(), dtype: ScalarType.Float64))
        {
            Assert.False(untouched.named_parameters().First().parameter.allclose(after[untouched.named_parameters().First().name]), "the step changed nothing");
        }

        foreach ((string name, var p) in unpackedModel.named_parameters())
        {
            Assert.True(p.allclose(after[name], rtol: 1e-9, atol: Tolerance.Fp64Same()), $"weights of {name} differ after one step");
        }
    }

    private static (double Loss, Dictionary<string, Tensor> Gradients) LossAndGradients(LlamaForCausalLM model, Func<Tensor> loss)
    {
        model.zero_grad();
        double value;
        using (var scope = NewDisposeScope())
        {
            Tensor l = loss();
            l.backward();
            value = l.to(ScalarType.Float64).item<double>();
        }

        var grads = new Dictionary<string, Tensor>();
        foreach ((string name, var p) in model.named_parameters())
        {
            using Tensor g = p.grad!;
            grads[name] = g.detach().clone();
        }

        model.zero_grad();
        return (value, grads);
    }
}
