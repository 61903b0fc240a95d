using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Data;
using FineTuning.Models;
using FineTuning.Models.Gpt2;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Training;

/// <summary>Dropout draws from the global generator: two runs see the same masks only if no other test draws in between.</summary>
[CollectionDefinition(nameof(GlobalGeneratorCollection), DisableParallelization = true)]
public sealed class GlobalGeneratorCollection
{
}

[Collection(nameof(GlobalGeneratorCollection))]
public sealed class GradientCheckpointingTests
{
    internal static readonly TokenSequence[] Batch =
    {
        new(new long[] { 1, 5, 6, 7, 8, 9, 10 }, new long[] { -100, -100, 6, 7, 8, 9, 10 }),
        TokenSequence.ForLanguageModeling(new long[] { 1, 11, 12, 13 }),
        TokenSequence.ForLanguageModeling(new long[] { 1, 20, 21, 22, 23, 24 }),
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Llama_Checkpointed_GradientsEqualPlain(bool tied)
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(tied: tied), dtype: ScalarType.Float64);
        model.train();
        var objective = new CausalLMObjective();
        GradientParity.AssertCheckpointingChangesNothing(model, m => objective.SummedLoss(m, Batch, CPU));
    }

    [Fact]
    public void Llama_PackedBatch_Checkpointed_GradientsEqualPlain()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(), dtype: ScalarType.Float64);
        model.train();
        IReadOnlyList<PackedSequence> rows = SequencePacker.Pack(Batch, maxLength: 12);
        Assert.Contains(rows, r => r.SequenceIds.Distinct().Count() > 1); // a real packed row: the mask matters
        var objective = new PackedCausalLMObjective();
        GradientParity.AssertCheckpointingChangesNothing(model, m => objective.SummedLoss(m, rows, CPU));
    }

    [Fact]
    public void Gpt2_WithDropout_Checkpointed_GradientsEqualPlain()
    {
        // Attention, residual and embedding dropout all draw from the global generator: the recompute must replay it.
        using var model = new Gpt2LMHeadModel(new Gpt2Config { VocabSize = 32, NPositions = 16, NEmbd = 16, NLayer = 2, NHead = 2, AttnPdrop = 0.3, ResidPdrop = 0.3, EmbdPdrop = 0.1 });
        using (var g = new Generator(5)) model.InitializeWeights(g, std: 0.3);
        model.to(ScalarType.Float64);
        model.train();
        var objective = new CausalLMObjective();
        using Tensor state = torch.random.get_rng_state();
        Dictionary<string, double[]> plain = GradientParity.Gradients(model, m => objective.SummedLoss(m, Batch, CPU), checkpoint: false, state);
        Dictionary<string, double[]> again = GradientParity.Gradients(model, m => objective.SummedLoss(m, Batch, CPU), checkpoint: false, null);
        Dictionary<string, double[]> checkpointed = GradientParity.Gradients(model, m => objective.SummedLoss(m, Batch, CPU), checkpoint: true, state);
        GradientParity.AssertSame(plain, checkpointed);
        // The comparison can fail: other masks (the generator moved on) give other gradients.
        Assert.True(plain.Any(p => !p.Value.SequenceEqual(again[p.Key])), "dropout did not change the gradients");
    }

    [Fact]
    public void Checkpointing_InEvaluationOrNoGrad_ChangesNothing()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(), dtype: ScalarType.Float64);
        using var scope = NewDisposeScope();
        Tensor ids = tensor(new long[] { 1, 5, 6, 7 }).unsqueeze(0);
        Tensor plain = model.call(ids);
        model.GradientCheckpointing = true;
        Assert.True(model.call(ids).equal(plain).all().item<bool>()); // eval mode: the plain path
        model.train();
        using (no_grad()) Assert.True(model.call(ids).equal(plain).all().item<bool>());
        Assert.True(model.call(ids).allclose(plain, rtol: 0, atol: Tolerance.Fp64Same(plain.abs().max().item<double>())));
    }

    [Fact]
    public void Train_GradientCheckpointingOption_SameLossCurve_AndRestoresTheModelFlag()
    {
        static TrainingRun Run(LlamaForCausalLM model, bool checkpointing) => FineTuner.For(model)
            .WithOptions(o =>
            {
                o.MaxSteps = 3;
                o.BatchSize = 3;
                o.LearningRate = 1e-2;
                o.ParameterDType = ScalarType.Float64;
                o.GradientCheckpointing = checkpointing;
            })
            .Train(Batch);

        using LlamaForCausalLM a = TinyLlama.Create(TinyLlama.Config());
        using LlamaForCausalLM b = TinyLlama.Create(TinyLlama.Config());
        using TrainingRun plain = Run(a, false);
        using TrainingRun checkpointed = Run(b, true);
        Assert.False(b.GradientCheckpointing);
        Assert.Equal(3, checkpointed.History.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(plain.History[i].Loss, checkpointed.History[i].Loss, Tolerance.Fp64Same(plain.History[i].Loss));
            Assert.Equal(plain.History[i].GradientNorm, checkpointed.History[i].GradientNorm, Tolerance.Fp64Same(plain.History[i].GradientNorm));
        }
    }

    [Fact]
    public void CheckpointedChunkedSteps_Repeated_LiveTensorsConstant()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        model.train();
        model.GradientCheckpointing = true;
        var objective = new CausalLMObjective { LossChunkSize = 5 };
        long LiveAfter(int steps)
        {
            for (int i = 0; i < steps; i++)
            {
                using var scope = NewDisposeScope();
                objective.SummedLoss(model, Batch, CPU).backward();
                foreach (Parameter p in model.parameters()) p.grad = null;
            }
            return DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }

        long first = LiveAfter(2);
        Assert.Equal(first, LiveAfter(5));
    }

    [Fact]
    public void Validate_GradientCheckpointingOnModelWithoutIt_ReportsTheProblem()
    {
        using Mlp model = TinyModels.Mlp(4, 8, 2, seed: 1);
        var data = new[] { new LabeledVector(new float[] { 1, 2, 3, 4 }, 1) };
        var e = Assert.Throws<InvalidConfigurationException>(() => FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => o.GradientCheckpointing = true).Train(data));
        Assert.Contains(e.Problems, p => p.Contains("GradientCheckpointing", StringComparison.Ordinal) && p.Contains(nameof(Mlp), StringComparison.Ordinal));
    }
}
