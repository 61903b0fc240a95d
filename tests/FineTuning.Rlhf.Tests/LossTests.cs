using System;
using FineTuning.Rlhf.Losses;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Tests;

/// <summary>Each loss against values computed by hand from the papers' formulas (see the comments), and its properties.</summary>
public sealed class LossTests
{
    // One pair: policy chosen -1 (2 tokens), rejected -2 or -4 (4 tokens), reference -1.5 on both sides.
    private static PreferenceLogProbs Pair(double chosen = -1, double rejected = -2, double? refChosen = -1.5, double? refRejected = -1.5) => new(
        tensor(new[] { (float)chosen }), tensor(new[] { (float)rejected }),
        refChosen is null ? null : tensor(new[] { (float)refChosen.Value }), refRejected is null ? null : tensor(new[] { (float)refRejected.Value }),
        tensor(new[] { 2f }), tensor(new[] { 4f }));

    private static double Value(Tensor t) => t.to(ScalarType.Float64).item<double>();

    [Fact]
    public void Dpo_HandComputed()
    {
        using var scope = NewDisposeScope();
        // h = 0.1 * ((-1 + 2) - (-1.5 + 1.5)) = 0.1; loss = -log sigma(0.1) = log(1 + e^-0.1)
        Assert.Equal(0.6443966600735709, Value(new DpoLoss(0.1).Loss(Pair())), 6);
        // conservative DPO, eps = 0.1: 0.9 * (-log sigma(0.1)) + 0.1 * (-log sigma(-0.1))
        Assert.Equal(0.6543966600735709, Value(new DpoLoss(0.1, labelSmoothing: 0.1).Loss(Pair())), 6);
        (Tensor rc, Tensor rr) = new DpoLoss(0.1).Rewards(Pair());
        Assert.Equal(0.05, Value(rc), 6);   // 0.1 * (-1 - -1.5)
        Assert.Equal(-0.05, Value(rr), 6);  // 0.1 * (-2 - -1.5)
    }

    [Fact]
    public void Ipo_HandComputed_OnPerTokenAverages()
    {
        using var scope = NewDisposeScope();
        // m = (-1/2 - -2/4) - (-1.5/2 - -1.5/4) = 0.375; loss = (0.375 - 1 / (2 * 0.1))^2 = 21.390625
        Assert.Equal(21.390625, Value(new IpoLoss(0.1).Loss(Pair())), 4);
    }

    [Fact]
    public void Orpo_HandComputed_WithoutReference()
    {
        using var scope = NewDisposeScope();
        // a_c = -0.5, a_r = -1; log odds(a) = a - log(1 - e^a); loss = 0.5 - 0.1 * log sigma(lo(-0.5) - lo(-1))
        Assert.Equal(0.5320299785237537, Value(new OrpoLoss(0.1).Loss(Pair(rejected: -4, refChosen: null, refRejected: null))), 6);
        Assert.False(new OrpoLoss().NeedsReference);
    }

    [Fact]
    public void SimPo_HandComputed_WithoutReference()
    {
        using var scope = NewDisposeScope();
        // -log sigma(2 * -0.5 - 2 * -1 - 0.5) = log(1 + e^-0.5)
        Assert.Equal(0.4740769841801067, Value(new SimPoLoss(2.0, 0.5).Loss(Pair(rejected: -4, refChosen: null, refRejected: null))), 6);
        Assert.False(new SimPoLoss().NeedsReference);
    }

    [Fact]
    public void ReferenceLosses_WithoutReference_ThrowClearly()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => new DpoLoss().Loss(Pair(refChosen: null, refRejected: null)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DpoLoss(beta: 0).Loss(Pair()));
    }

    [Property(MaxTest = 200)]
    public Property Dpo_FallsAsTheMarginGrows(NormalFloat margin, PositiveInt step)
    {
        using var scope = NewDisposeScope();
        double m = Math.Clamp(margin.Get, -50, 50), delta = 0.01 + step.Get % 10;
        double low = Value(new DpoLoss(0.5).Loss(Pair(chosen: m, rejected: 0, refChosen: 0, refRejected: 0)));
        double high = Value(new DpoLoss(0.5).Loss(Pair(chosen: m + delta, rejected: 0, refChosen: 0, refRejected: 0)));
        return (high < low || (low < 1e-6 && high <= low)).Label($"margin {m}: {low} -> {high}");
    }

    [Property(MaxTest = 200)]
    public Property Ipo_IsMinimisedAtMarginOneOverTwoBeta(PositiveInt betaSeed, NormalFloat offset)
    {
        using var scope = NewDisposeScope();
        double beta = 0.05 + betaSeed.Get % 20 / 10.0, target = 1 / (2 * beta), d = Math.Clamp(offset.Get, -5, 5);
        // Average chosen log-prob = chosen / 2; build a pair whose averaged margin is target + d.
        double AtMargin(double margin) => Value(new IpoLoss(beta).Loss(Pair(chosen: 2 * margin, rejected: 0, refChosen: 0, refRejected: 0)));
        return (AtMargin(target) < 1e-6 && (Math.Abs(d) < 1e-3 || AtMargin(target + d) > AtMargin(target))).Label($"beta {beta}, d {d}");
    }
}
