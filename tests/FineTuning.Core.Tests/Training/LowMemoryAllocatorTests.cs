using System;
using Xunit;

namespace FineTuning.Core.Tests.Training;

/// <summary><see cref="FineTuningRuntime.UseLowMemoryAllocator"/>: glibc's range is enforced, and the threshold reaches mallopt.</summary>
public sealed class LowMemoryAllocatorTests
{
    [Theory]
    [InlineData(1000)]
    [InlineData(65535)]
    [InlineData(32 * 1024 * 1024 + 1)]
    public void UseLowMemoryAllocator_OutsideGlibcsRange_Refused(int bytes)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => FineTuningRuntime.UseLowMemoryAllocator(bytes));
        Assert.Contains("65536 (64 KiB) to 33554432 (32 MiB)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseLowMemoryAllocator_OnGlibc_SetsTheThresholdOnce()
    {
        // 32 MiB - 64 KiB: glibc's own dynamic threshold never goes above 32 MiB, so this barely changes the test host.
        const int Bytes = (32 * 1024 * 1024) - (64 * 1024);
        bool first = FineTuningRuntime.UseLowMemoryAllocator(Bytes);
        bool again = FineTuningRuntime.UseLowMemoryAllocator(Bytes);
        Assert.Equal(OperatingSystem.IsLinux(), first);
        Assert.False(again, "the same threshold twice changes nothing the second time");
    }
}
