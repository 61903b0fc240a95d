using TorchSharp;
using Xunit;

namespace FineTuning.Core.Tests;

public sealed class TorchLoadsTests
{
    [Fact]
    public void NativeLibrary_LoadsAndComputes_MatmulIsExact()
    {
        using var a = torch.tensor(new float[] { 1, 2, 3, 4 }, 2, 2);
        using var b = a.matmul(a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, b.data<float>().ToArray());
    }
}
