using System;
using System.Linq;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models;

public sealed class CausalLMObjectiveTests
{
    private static readonly TokenSequence[] Examples =
    {
        // A prompt (ignored) then three learned tokens.
        new(new long[] { 1, 5, 6, 7, 8 }, new long[] { -100, -100, 6, 7, 8 }),
        // Shorter: right padding must not count; label 9 at position 1 and 10 at 2 are learned.
        TokenSequence.ForLanguageModeling(new long[] { 1, 9, 10 }),
    };

    [Fact]
    public void CountTargets_IgnoresMinus100AndFirstPosition()
    {
        Assert.Equal(5, new CausalLMObjective().CountTargets(Examples));
    }

    [Fact]
    public void SummedLoss_DividedByCount_EqualsHandComputedMeanCrossEntropy()
    {
        // float64 model: the hand computation below is exact to ~1e-15, so any formula difference shows.
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(), dtype: torch.ScalarType.Float64);
        var objective = new CausalLMObjective();

        double expected = HandComputedMean(model);
        double summed;
        using (var scope = torch.NewDisposeScope())
        {
            Tensor loss = objective.SummedLoss(model, Examples, torch.CPU);
            Assert.Equal(0, loss.dim());
            loss.backward();
            summed = loss.item<double>();
        }

        Assert.Equal(expected, summed / objective.CountTargets(Examples), Tolerance.Fp64Same(expected));
        using Tensor grad = model.named_parameters().First(p => p.name == "lm_head.weight").parameter.grad!;
        Assert.True(grad.abs().sum().item<double>() > 0);
    }

    /// <summary>Each example alone, log-softmax in double precision in C#, averaged over learned next tokens.</summary>
    private static double HandComputedMean(LlamaForCausalLM model)
    {
        double total = 0;
        int count = 0;
        foreach (TokenSequence example in Examples)
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            int n = example.InputIds.Count;
            Tensor logits = model.forward(torch.tensor(example.InputIds.ToArray(), new long[] { 1, n }));
            double[] values = logits.data<double>().ToArray();
            int vocab = (int)logits.shape[2];
            for (int t = 0; t + 1 < n; t++)
            {
                long label = example.Labels[t + 1];
                if (label == TokenSequence.IgnoreIndex) continue;
                double[] row = values.AsSpan(t * vocab, vocab).ToArray();
                double max = row.Max();
                double logSumExp = max + Math.Log(row.Sum(v => Math.Exp(v - max)));
                total += logSumExp - row[label];
                count++;
            }
        }

        return total / count;
    }
}
