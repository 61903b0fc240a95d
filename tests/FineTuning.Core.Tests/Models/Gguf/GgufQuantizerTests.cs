using System;
using System.Linq;
using FineTuning.Models.Gguf;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace FineTuning.Core.Tests.Models.Gguf;

public sealed class GgufQuantizerTests
{
    [Fact]
    public void Encode_Q8_0Block_ScaleThenInt8CodesRoundedHalfAwayFromZero()
    {
        // amax = 127 makes d = 1 exactly (fp16 0x3C00), so the codes are the values rounded as C's roundf.
        var x = new float[32];
        x[0] = -127f; x[1] = 2.5f; x[2] = -2.5f; x[3] = 0.49f; x[4] = 126.5f;
        byte[] block = GgufQuantizer.Encode(x, GgufTensorType.Q8_0);
        Assert.Equal(34, block.Length);
        Assert.Equal(new byte[] { 0x00, 0x3C, 0x81, 3, 0xFD, 0, 127 }, block[..7]);
        Assert.All(block[7..], b => Assert.Equal(0, b));
        Assert.Equal(new[] { -127f, 3f, -3f, 0f, 127f }, GgufQuantizer.Decode(block, GgufTensorType.Q8_0, 32)[..5]);
    }

    [Fact]
    public void Encode_Q4_0Block_LowNibblesFirstHalfHighNibblesSecondHalf()
    {
        // max = -8 (largest magnitude, sign kept) gives d = max / -8 = 1, code = min(15, trunc(x + 8.5)).
        var x = new float[32];
        x[0] = -8f; x[1] = 7f; x[2] = 7.9f; x[4] = -0.5f; x[5] = -0.6f; x[16] = 3f; x[17] = -3f;
        byte[] block = GgufQuantizer.Encode(x, GgufTensorType.Q4_0);
        Assert.Equal(18, block.Length);
        // byte j holds element j (low nibble) and element j + 16 (high nibble); zeros are code 8.
        Assert.Equal(new byte[] { 0x00, 0x3C, 0xB0, 0x5F, 0x8F, 0x88, 0x88, 0x87 }, block[..8]);
        Assert.All(block[8..], b => Assert.Equal(0x88, b));
        float[] back = GgufQuantizer.Decode(block, GgufTensorType.Q4_0, 32);
        Assert.Equal(new[] { -8f, 7f, 7f, 0f, 0f, -1f }, back[..6]); // 7.9 saturates at code 15
        Assert.Equal(new[] { 3f, -3f }, back[16..18]);
    }

    [Fact]
    public void Encode_Q4_0FirstLargestMagnitudeWins_ScaleTakesItsSign()
    {
        var x = new float[32];
        x[0] = 4f; x[1] = -4f;
        byte[] block = GgufQuantizer.Encode(x, GgufTensorType.Q4_0);
        Assert.Equal((Half)(-0.5f), BitConverter.ToHalf(block, 0));
        Assert.Equal(0x80 | 0x00, block[2]); // element 0 -> code 0, element 16 (zero) -> 8
        Assert.Equal(0x80 | 0x0F, block[3]); // element 1: -4 / -0.5 + 8.5 = 16.5 -> 16 -> saturates at 15
    }

    [Fact]
    public void Encode_ZeroBlock_ZeroScaleDecodesToZero()
    {
        var zeros = new float[32];
        foreach (GgufTensorType type in Enum.GetValues<GgufTensorType>())
        {
            Assert.All(GgufQuantizer.Decode(GgufQuantizer.Encode(zeros, type), type, 32), v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void Encode_LengthNotAMultipleOfTheBlock_Throws()
    {
        Assert.Throws<ArgumentException>(() => GgufQuantizer.Encode(new float[48], GgufTensorType.Q8_0));
        Assert.Equal(48 * 2, GgufQuantizer.Encode(new float[48], GgufTensorType.F16).Length);
    }

    private static Arbitrary<float[]> Blocks() =>
        Gen.Choose(-1_000_000, 1_000_000).Select(i => i / 1000f).ArrayOf(64).ToArbitrary();

    /// <summary>
    /// Q8_0: the codes are x / d rounded (half a step, d/2, with d = amax/127 in float32), and the stored fp16 scale
    /// differs from d by at most 2^-11 relative, times |q| &lt;= 127: |x - dq| &lt;= (amax/127) (1/2 + 127 * 2^-11).
    /// </summary>
    [Property(MaxTest = 100)]
    public Property Q8_0_RoundTrip_ErrorWithinHalfStepPlusScaleRounding() => Prop.ForAll(Blocks(), x =>
        Within(x, GgufTensorType.Q8_0, amax => amax / 127 * (0.5 + (127 * Math.Pow(2, -11)))));

    /// <summary>Q4_0: step |d| = amax/8; rounding costs half a step, the saturated end (code 16 -> 15) one step.</summary>
    [Property(MaxTest = 100)]
    public Property Q4_0_RoundTrip_ErrorWithinOneStepPlusScaleRounding() => Prop.ForAll(Blocks(), x =>
        Within(x, GgufTensorType.Q4_0, amax => amax / 8 * (1 + (8 * Math.Pow(2, -11)))));

    /// <summary>F16: round to nearest even, relative error at most 2^-11 (the values stay in fp16's normal range).</summary>
    [Property(MaxTest = 100)]
    public Property F16_RoundTrip_RelativeErrorAtMostHalfAnUlp() => Prop.ForAll(Blocks(), x =>
    {
        float[] back = GgufQuantizer.Decode(GgufQuantizer.Encode(x, GgufTensorType.F16), GgufTensorType.F16, x.Length);
        return x.Zip(back).All(p => Math.Abs(p.First - p.Second) <= (Math.Abs(p.First) * Math.Pow(2, -11)) + 1e-7);
    });

    private static bool Within(float[] x, GgufTensorType type, Func<double, double> bound)
    {
        float[] back = GgufQuantizer.Decode(GgufQuantizer.Encode(x, type), type, x.Length);
        for (int b = 0; b < x.Length; b += 32)
        {
            double limit = bound(x.Skip(b).Take(32).Max(v => Math.Abs((double)v))) * (1 + 1e-4);
            for (int i = b; i < b + 32; i++)
            {
                if (Math.Abs(x[i] - back[i]) > limit) return false;
            }
        }

        return true;
    }
}
