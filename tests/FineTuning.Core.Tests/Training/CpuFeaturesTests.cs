using System.IO;
using FineTuning.Training;
using Xunit;

namespace FineTuning.Core.Tests.Training;

public sealed class CpuFeaturesTests
{
    [Theory]
    [InlineData("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma avx512f avx512_bf16 amx_tile\n", true)]  // Zen 4 / Xeon
    [InlineData("flags\t\t: fpu avx2 amx_bf16 amx_tile\n", true)]                                        // AMX only
    [InlineData("flags\t\t: fpu sse2 avx2 fma bmi2\n", false)]                                          // EPYC, AVX2 only
    [InlineData("flags\t\t: fpu avx512f avx512_bf16x\n", false)]                                         // whole names only
    [InlineData("processor\t: 0\nmodel name\t: something\n", null)]                                     // no flags line
    public void NativeBFloat16From_CpuinfoText_ReadsTheFlags(string cpuinfo, bool? expected)
    {
        Assert.Equal(expected, CpuFeatures.NativeBFloat16From(cpuinfo));
    }

    [Fact]
    public void HasNativeBFloat16_OnLinux_AgreesWithThisMachinesCpuinfo()
    {
        if (!File.Exists("/proc/cpuinfo") || System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            Assert.Null(CpuFeatures.HasNativeBFloat16);
            return;
        }

        string flags = File.ReadAllText("/proc/cpuinfo");
        bool expected = System.Text.RegularExpressions.Regex.IsMatch(flags, @"\b(avx512_bf16|amx_bf16)\b");
        Assert.Equal(expected, CpuFeatures.HasNativeBFloat16);
    }
}
