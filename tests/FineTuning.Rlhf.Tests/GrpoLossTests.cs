using System;
using System.Linq;
using FineTuning.Rlhf.Grpo;
using FsCheck;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Tests;

public sealed class GrpoLossTests
{
    // fp32 arithmetic on values of order 1: a few ulps of relative error.
    private const double Fp32 = 1e-5;

    [Fact]
    public void GroupRelative_HandComputed_MeanAndUnbiasedStd()
    {
        // Group [1, 2, 3, 6]: mean 3, unbiased std sqrt((4 + 1 + 0 + 9) / 3); group [5, 5, 5, 5]: all advantages 0.
        double[] rewards = { 1, 2, 3, 6, 5, 5, 5, 5 };
        double std = Math.Sqrt(14.0 / 3);
        double[] scaled = Advantages.GroupRelative(rewards, 4, scale: true);
        double[] expected = { -2 / (std + 1e-4), -1 / (std + 1e-4), 0, 3 / (std + 1e-4), 0, 0, 0, 0 };
        for (int i = 0; i < 8; i++) Assert.Equal(expected[i], scaled[i], 12);
        Assert.Equal(new double[] { -2, -1, 0, 3, 0, 0, 0, 0 }, Advantages.GroupRelative(rewards, 4, scale: false));
    }

    [Fact]
    public void LeaveOneOut_HandComputed_RewardMinusMeanOfOthers()
    {
        // [1, 2, 3, 6]: others' means 11/3, 10/3, 3, 2.
        double[] a = Advantages.LeaveOneOut(new double[] { 1, 2, 3, 6 }, 4);
        double[] expected = { 1 - 11.0 / 3, 2 - 10.0 / 3, 0, 4 };
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], a[i], 12);
    }

    [Property(MaxTest = 200)]
    public bool LeaveOneOut_AnyGroup_EqualsExplicitMeanOfTheOthers(NonEmptyArray<NormalFloat> values, PositiveInt size)
    {
        int g = 2 + size.Get % 6;
        double[] rewards = Enumerable.Range(0, g * 2).Select(i => values.Get[i % values.Get.Length].Get % 1e6).ToArray();
        double[] a = Advantages.LeaveOneOut(rewards, g);
        for (int i = 0; i < rewards.Length; i++)
        {
            int start = i / g * g;
            double others = Enumerable.Range(start, g).Where(j => j != i).Average(j => rewards[j]);
            double scale = 1 + Math.Abs(rewards[i]) + Math.Abs(others);
            if (Math.Abs(a[i] - (rewards[i] - others)) > 1e-12 * scale * g) return false;
        }
        // RLOO's advantages are GRPO's unscaled ones times G / (G - 1); each group's advantages sum to 0.
        double[] centred = Advantages.GroupRelative(rewards, g, scale: false);
        return rewards.Select((_, i) => Math.Abs(a[i] - centred[i] * g / (g - 1)) <= 1e-9 * (1 + Math.Abs(a[i]))).All(x => x);
    }

    /// <summary>
    /// Two completions, three token slots. Completion 0 (A = +1) has ratios [1.5, 0.5, pad]; completion 1 (A = -1) has
    /// ratios [0.5, 1.5, 1.2]. With eps_low 0.2, eps_high 0.28 the token losses are
    /// -min(rA, clip(r)A): [-1.28 (clipped high), -0.5 (below, but A &gt; 0: unclipped)], [0.8 (clipped low), 1.5, 1.2].
    /// </summary>
    private static (Tensor LogProbs, Tensor Old, Tensor Advantages, Tensor Mask) Fixed()
    {
        Tensor old = tensor(new float[] { -1f, -2f, -0.5f, -1.5f, -0.7f, -3f }).reshape(2, 3);
        Tensor ratios = tensor(new float[] { 1.5f, 0.5f, 1f, 0.5f, 1.5f, 1.2f }).reshape(2, 3);
        return (old.add(ratios.log()), old, tensor(new float[] { 1, -1 }), tensor(new float[] { 1, 1, 0, 1, 1, 1 }).reshape(2, 3));
    }

    [Fact]
    public void PerToken_FixedRatios_ClippedObjectiveAndClipIndicators()
    {
        using var scope = NewDisposeScope();
        (Tensor logp, Tensor old, Tensor a, Tensor mask) = Fixed();
        (Tensor loss, Tensor low, Tensor high, Tensor? kl) = GrpoLoss.PerToken(logp, old, null, a, 0.2, 0.28, beta: 0);
        float[] l = loss.data<float>().ToArray();
        double[] expected = { -1.28, -0.5, -1.0, 0.8, 1.5, 1.2 };
        for (int i = 0; i < 6; i++) Assert.Equal(expected[i], l[i], Fp32 * 2);
        Assert.Equal(new float[] { 0, 0, 0, 1, 0, 0 }, low.data<float>().ToArray());
        Assert.Equal(new float[] { 1, 0, 0, 0, 0, 0 }, high.data<float>().ToArray());
        Assert.Null(kl);
        Assert.Equal(0.2, GrpoLoss.MaskedMean(low, mask), Fp32); // 1 of 5 tokens, divided in fp32
    }

    [Theory]
    // grpo: mean_t per completion, summed: (-1.28 - 0.5) / 2 + (0.8 + 1.5 + 1.2) / 3.
    [InlineData(GrpoLossType.Grpo, -0.89 + 3.5 / 3)]
    // dr_grpo with L = 4: all masked token losses / 4.
    [InlineData(GrpoLossType.DrGrpo, 1.72 / 4)]
    // dapo: all masked token losses / 5 tokens, times N = 2 completions (the trainer divides by N).
    [InlineData(GrpoLossType.Dapo, 2 * 1.72 / 5)]
    public void Summed_EachLossType_HasItsPublishedNormalisation(GrpoLossType type, double expected)
    {
        using var scope = NewDisposeScope();
        (Tensor logp, Tensor old, Tensor a, Tensor mask) = Fixed();
        Tensor perToken = GrpoLoss.PerToken(logp, old, null, a, 0.2, 0.28, beta: 0).Loss;
        Assert.Equal(expected, GrpoLoss.Summed(perToken, mask, type, maxCompletionLength: 4).item<float>(), Fp32 * 4);
    }

    [Fact]
    public void Summed_DapoWithStepTotals_IsTheTokenMeanOverEveryMicroBatchOfTheStep()
    {
        using var scope = NewDisposeScope();
        (Tensor logp, Tensor old, Tensor a, Tensor mask) = Fixed();
        Tensor first = GrpoLoss.PerToken(logp, old, null, a, 0.2, 0.28, beta: 0).Loss; // 5 tokens, masked sum 1.72, 2 completions
        Tensor second = tensor(new float[] { 0.3f, -0.6f, 0.9f, 7f }, new long[] { 1, 4 }); // 3 tokens, masked sum 0.6
        Tensor secondMask = tensor(new float[] { 1, 1, 1, 0 }, new long[] { 1, 4 });
        (double, long) step = (8, 3);
        double total = GrpoLoss.Summed(first, mask, GrpoLossType.Dapo, 4, step).item<float>() + GrpoLoss.Summed(second, secondMask, GrpoLossType.Dapo, 4, step).item<float>();
        // The trainer divides by the step's 3 completions: (1.72 + 0.6) / 8 tokens, TRL's num_items_in_batch normalisation.
        Assert.Equal((1.72 + 0.6) / 8, total / 3, Fp32);
        // Normalising each micro-batch by its own tokens would weigh the 3-token completion's tokens more.
        double perMicroBatch = (GrpoLoss.Summed(first, mask, GrpoLossType.Dapo, 4).item<float>() + GrpoLoss.Summed(second, secondMask, GrpoLossType.Dapo, 4).item<float>()) / 3;
        Assert.Equal((2 * 1.72 / 5 + 0.6 / 3) / 3, perMicroBatch, Fp32);
    }

    [Fact]
    public void PerToken_WithReference_AddsBetaTimesK3Kl()
    {
        using var scope = NewDisposeScope();
        // ratio 1 and A = 0: the loss is beta * kl with kl = e^d - d - 1, d = ref - logp in {0, 0.5, -1}.
        Tensor logp = tensor(new float[] { -1f, -2f, -0.5f }).reshape(1, 3);
        Tensor reference = logp.add(tensor(new float[] { 0f, 0.5f, -1f }).reshape(1, 3));
        (Tensor loss, _, _, Tensor? kl) = GrpoLoss.PerToken(logp, logp, reference, tensor(new float[] { 0 }), 0.2, 0.2, beta: 0.1);
        double[] k3 = { 0, Math.Exp(0.5) - 1.5, Math.Exp(-1) };
        for (int t = 0; t < 3; t++)
        {
            Assert.Equal(k3[t], kl![0, t].item<float>(), Fp32);
            Assert.Equal(0.1 * k3[t], loss[0, t].item<float>(), Fp32);
        }
    }

    [Theory]
    [InlineData(GrpoLossType.Grpo)]
    [InlineData(GrpoLossType.DrGrpo)]
    [InlineData(GrpoLossType.Dapo)]
    public void Gradient_AtRatioOne_EqualsPolicyGradient(GrpoLossType type)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(3);
        Tensor logits = randn(new long[] { 3, 4, 6 }, generator: g, dtype: ScalarType.Float64).requires_grad_(true);
        Tensor labels = tensor(new long[] { 1, 5, 2, 0, 3, 3, 4, 1, 0, 2, 2, 5 }).reshape(3, 4, 1);
        Tensor mask = tensor(new double[] { 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0 }).reshape(3, 4);
        Tensor a = tensor(new double[] { 0.7, -1.3, 0.4 });
        Tensor LogProbs() => logits.log_softmax(-1).gather(-1, labels).squeeze(-1);

        // The clipped objective with old = logp (ratio exactly 1, so no clipping).
        Tensor lp = LogProbs();
        GrpoLoss.Summed(GrpoLoss.PerToken(lp, lp.detach(), null, a, 0.2, 0.2, 0).Loss, mask, type, 4).backward();
        Tensor clippedGrad = logits.grad!.clone();
        logits.grad!.zero_();

        // REINFORCE with advantages: -sum_i A_i w_it log pi(o_it), w the loss type's token weight.
        Tensor weights = type switch
        {
            GrpoLossType.Grpo => mask.div(mask.sum(new long[] { 1 }, keepdim: true)),
            GrpoLossType.DrGrpo => mask.div(4),
            _ => mask.mul(3).div(mask.sum()),
        };
        LogProbs().mul(a.unsqueeze(1)).mul(weights).sum().neg().backward();
        Assert.True(clippedGrad.allclose(logits.grad!, rtol: 1e-12, atol: 1e-14), "gradients differ");
        Assert.True(clippedGrad.abs().sum().item<double>() > 0.1);
    }
}
