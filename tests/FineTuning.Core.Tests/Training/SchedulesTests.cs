using System;
using FineTuning.Training;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace FineTuning.Core.Tests.Training;

public sealed class SchedulesTests
{
    // Hand-computed from Hugging Face's formulas (warmup 10, total 110).
    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(5, 0.5)]
    [InlineData(10, 1.0)]
    [InlineData(60, 0.5)]
    [InlineData(110, 0.0)]
    public void Linear_AtChosenSteps_EqualsFormula(long step, double expected) =>
        Assert.Equal(expected, new LinearSchedule().Multiplier(step, 10, 110), 12);

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(4, 0.4)]
    [InlineData(10, 1.0)]
    [InlineData(35, 0.8535533905932737)] // 0.5 * (1 + cos(pi * 0.25))
    [InlineData(60, 0.5)]
    [InlineData(85, 0.14644660940672627)] // 0.5 * (1 + cos(pi * 0.75))
    [InlineData(110, 0.0)]
    public void Cosine_AtChosenSteps_EqualsFormula(long step, double expected) =>
        Assert.Equal(expected, new CosineSchedule().Multiplier(step, 10, 110), 12);

    [Fact]
    public void Cosine_WithMinimumRatio_FloorsAtRatio()
    {
        var schedule = new CosineSchedule(MinimumRatio: 0.1);
        Assert.Equal(0.1, schedule.Multiplier(110, 10, 110), 12);
        Assert.Equal(0.1 + 0.9 * 0.5, schedule.Multiplier(60, 10, 110), 12);
    }

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(3, 0.75)]
    [InlineData(4, 1.0)]
    [InlineData(1000, 1.0)]
    public void Constant_AtChosenSteps_EqualsFormula(long step, double expected) =>
        Assert.Equal(expected, new ConstantSchedule().Multiplier(step, 4, 100), 12);

    [Property(MaxTest = 300)]
    public Property EverySchedule_StaysInUnitInterval_AndWarmupRises(PositiveInt total, NonNegativeInt warmupSeed, NonNegativeInt stepSeed)
    {
        long totalSteps = total.Get;
        long warmup = warmupSeed.Get % (totalSteps + 1);
        long step = stepSeed.Get % totalSteps; // optimizer steps are 0 .. total-1
        ILearningRateSchedule[] schedules = { new LinearSchedule(), new CosineSchedule(), new ConstantSchedule(), new CosineSchedule(1.5, 0.2) };
        foreach (ILearningRateSchedule s in schedules)
        {
            double m = s.Multiplier(step, warmup, totalSteps);
            if (!(m >= 0 && m <= 1)) return false.Label($"{s} gave {m} at {step}/{totalSteps} warmup {warmup}");
            if (step > 0 && step <= warmup && s.Multiplier(step - 1, warmup, totalSteps) >= m)
                return false.Label($"{s} did not rise during warmup at {step}");
        }
        // Linear decays monotonically after warmup.
        if (step > warmup && new LinearSchedule().Multiplier(step, warmup, totalSteps) > new LinearSchedule().Multiplier(step - 1, warmup, totalSteps))
            return false.Label("linear rose after warmup");
        return true.ToProperty();
    }
}
