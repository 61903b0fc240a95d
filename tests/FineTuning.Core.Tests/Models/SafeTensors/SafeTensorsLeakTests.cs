using System;
using System.Collections.Generic;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.SafeTensors;

public sealed class SafeTensorsLeakTests : IDisposable
{
    private readonly TempDirectory _dir = new("finetuning-st-");

    public void Dispose() => _dir.Dispose();

    private static long Live => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    [Fact]
    public void LoadInScope_Repeatedly_LiveTensorCountDoesNotGrow()
    {
        string path = _dir.File("sample.safetensors");
        SafeTensorsTestData.WriteSample(path);
        using var reader = SafeTensorsReader.Open(path);

        long before = Live;
        for (int i = 0; i < 50; i++)
        {
            using DisposeScope scope = torch.NewDisposeScope();
            Dictionary<string, Tensor> all = reader.LoadAll();
            Tensor one = reader.Load("a.weight");
            Assert.Equal(5, all.Count);
            Assert.True(Live > before);
        }

        Assert.Equal(before, Live);
    }

    [Fact]
    public void LoadAndDispose_InChunksAndSharded_LiveTensorCountDoesNotGrow()
    {
        string path = _dir.File("sample.safetensors");
        SafeTensorsTestData.WriteSample(path);
        using var reader = SafeTensorsReader.Open(path);
        using (Tensor t = reader.Load("a.weight"))
        {
            SafeTensorsWriter.WriteSharded(_dir.File("sharded"), new Dictionary<string, Tensor> { ["x"] = t, ["y"] = t }, maxShardBytes: 8);
        }

        using var sharded = ShardedSafeTensorsReader.Open(_dir.File("sharded"));
        long before = Live;
        for (int i = 0; i < 50; i++)
        {
            using Tensor a = reader.Load("a.weight");
            using Tensor x = sharded.Load("x");
            using var handle = System.IO.File.OpenHandle(path);
            using Tensor chunked = TensorBytes.Load(handle, reader.DataStart, reader.GetInfo("a.weight"), chunkBytes: 8);
        }

        Assert.Equal(before, Live);
    }

    [Fact]
    public void WriteNonContiguous_Repeatedly_LiveTensorCountDoesNotGrow()
    {
        using Tensor matrix = torch.arange(12, ScalarType.Float32).reshape(3, 4);
        using Tensor transposed = matrix.t();
        var tensors = new Dictionary<string, Tensor> { ["t"] = transposed, ["m"] = matrix };

        long before = Live;
        for (int i = 0; i < 20; i++) SafeTensorsWriter.Write(_dir.File("w.safetensors"), tensors);

        Assert.Equal(before, Live);
        Assert.False(transposed.IsInvalid);
    }
}
