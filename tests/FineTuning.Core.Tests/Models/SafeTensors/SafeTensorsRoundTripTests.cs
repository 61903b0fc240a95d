using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.SafeTensors;

public sealed class SafeTensorsRoundTripTests : IDisposable
{
    private readonly TempDirectory _dir = new("finetuning-st-");

    public void Dispose() => _dir.Dispose();

    public static IEnumerable<object[]> AllDTypes() => SafeTensorsTestData.AllDTypes();

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void WriteThenLoad_EveryDType_BitIdenticalWithDTypeAndShape(SafeTensorsDType dtype)
    {
        string path = _dir.File($"{dtype}.safetensors");
        using Tensor original = SafeTensorsTestData.RandomTensor(dtype, [3, 5], new Random((int)dtype + 10));

        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["t"] = original });
        using var reader = SafeTensorsReader.Open(path);
        using Tensor loaded = reader.Load("t");

        Assert.Equal(SafeTensorsTestData.ScalarTypeOf(dtype), loaded.dtype);
        Assert.Equal(new long[] { 3, 5 }, loaded.shape);
        Assert.Equal(SafeTensorsTestData.BytesOf(original), SafeTensorsTestData.BytesOf(loaded));
        SafeTensorInfo info = Assert.Single(reader.Tensors);
        Assert.Equal(dtype, info.DType);
        Assert.Equal(15L * loaded.ElementSize, info.ByteLength);
    }

    [Theory]
    [InlineData(new long[0])]
    [InlineData(new long[] { 0 })]
    [InlineData(new long[] { 2, 0, 3 })]
    [InlineData(new long[] { 1 })]
    [InlineData(new long[] { 2, 1, 1, 3 })]
    public void WriteThenLoad_ScalarAndZeroSizeShapes_RoundTrip(long[] shape)
    {
        string path = _dir.File("shapes.safetensors");
        using Tensor original = SafeTensorsTestData.RandomTensor(SafeTensorsDType.F32, shape, new Random(3));
        using Tensor after = SafeTensorsTestData.RandomTensor(SafeTensorsDType.I16, [2], new Random(4));

        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["a"] = original, ["b"] = after });
        using var reader = SafeTensorsReader.Open(path);
        using Tensor loaded = reader.Load("a");
        using Tensor loadedAfter = reader.Load("b");

        Assert.Equal(shape, loaded.shape);
        Assert.Equal(shape, reader.GetInfo("a").Shape.ToArray());
        Assert.Equal(SafeTensorsTestData.BytesOf(original), SafeTensorsTestData.BytesOf(loaded));
        Assert.Equal(SafeTensorsTestData.BytesOf(after), SafeTensorsTestData.BytesOf(loadedAfter));
    }

    [Fact]
    public void Write_NonContiguousViews_WritesLogicalValues()
    {
        string path = _dir.File("views.safetensors");
        using Tensor baseTensor = torch.arange(12, ScalarType.Float32).reshape(3, 4);
        using Tensor transposed = baseTensor.t();
        using Tensor column = baseTensor.select(1, 2);
        using Tensor rows = baseTensor.narrow(0, 1, 2);
        Assert.False(transposed.is_contiguous());

        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["t"] = transposed, ["col"] = column, ["rows"] = rows });
        using var reader = SafeTensorsReader.Open(path);
        using Tensor t = reader.Load("t");
        using Tensor col = reader.Load("col");
        using Tensor r = reader.Load("rows");

        Assert.Equal(new long[] { 4, 3 }, t.shape);
        Assert.Equal(new float[] { 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11 }, t.data<float>().ToArray());
        Assert.Equal(new float[] { 2, 6, 10 }, col.data<float>().ToArray());
        Assert.Equal(new float[] { 4, 5, 6, 7, 8, 9, 10, 11 }, r.data<float>().ToArray());
    }

    [Fact]
    public void Load_HandWrittenHalfAndBFloat16Bytes_DecodeToExpectedValues()
    {
        // 1.5 = 0x3FC0 in bf16 and 0x3E00 in f16; -2 = 0xC000 in both. Little-endian on disk.
        string header = """{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}}""";
        string path = _dir.File("halves.safetensors");
        File.WriteAllBytes(path, SafeTensorsTestData.RawFile(header, [0x00, 0x3E, 0x00, 0xC0, 0xC0, 0x3F, 0x00, 0xC0]));

        using var reader = SafeTensorsReader.Open(path);
        using Tensor h = reader.Load("h");
        using Tensor b = reader.Load("b");
        using Tensor h32 = h.to(ScalarType.Float32);
        using Tensor b32 = b.to(ScalarType.Float32);

        Assert.Equal(ScalarType.Float16, h.dtype);
        Assert.Equal(ScalarType.BFloat16, b.dtype);
        Assert.Equal(new float[] { 1.5f, -2f }, h32.data<float>().ToArray());
        Assert.Equal(new float[] { 1.5f, -2f }, b32.data<float>().ToArray());
    }

    [Fact]
    public void WriteThenOpen_Metadata_RoundTrips()
    {
        string path = _dir.File("meta.safetensors");
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "Grüße \"quoted\" \\ é 日本", ["empty"] = "" };
        using Tensor t = torch.ones(2);

        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["t"] = t }, metadata);
        using var reader = SafeTensorsReader.Open(path);

        Assert.Equal(metadata.OrderBy(p => p.Key), reader.Metadata.OrderBy(p => p.Key));
        // Non-ASCII is stored as raw UTF-8, as the reference writer does, not as \u escapes.
        Assert.Contains("Grüße \\\"quoted\\\" \\\\ é 日本", System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(path)), StringComparison.Ordinal);
    }

    [Fact]
    public void Open_NoMetadata_MetadataEmptyAndTensorsListedInNameOrder()
    {
        string path = _dir.File("list.safetensors");
        using Tensor a = torch.zeros(3, dtype: ScalarType.Int32);
        using Tensor b = torch.zeros(2, 2, dtype: ScalarType.Float64);

        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["z"] = a, ["m.b"] = b, ["m.a"] = a });
        using var reader = SafeTensorsReader.Open(path);

        Assert.Empty(reader.Metadata);
        Assert.Equal(new[] { "m.a", "m.b", "z" }, reader.Tensors.Select(t => t.Name));
        Assert.Equal(new[] { (0L, 12L), (12L, 44L), (44L, 56L) }, reader.Tensors.Select(t => (t.DataBegin, t.DataEnd)));
        Assert.Equal(0, reader.DataStart % 8);
    }

    [Fact]
    public void LoadAll_SampleFile_ReturnsEveryTensorWithItsBytes()
    {
        string path = _dir.File("sample.safetensors");
        SafeTensorsTestData.WriteSample(path);
        using var reader = SafeTensorsReader.Open(path);

        Dictionary<string, Tensor> all = reader.LoadAll();
        try
        {
            Assert.Equal(new[] { "a.weight", "b", "c", "d", "e" }, all.Keys.Order(StringComparer.Ordinal));
            foreach (SafeTensorInfo info in reader.Tensors)
            {
                using Tensor single = reader.Load(info.Name);
                Assert.Equal(SafeTensorsTestData.BytesOf(single), SafeTensorsTestData.BytesOf(all[info.Name]));
                Assert.Equal(info.GetShapeArray(), all[info.Name].shape);
            }
        }
        finally
        {
            foreach (Tensor t in all.Values) t.Dispose();
        }
    }

    [Fact]
    public void Load_UnknownName_ThrowsKeyNotFoundNamingFileAndTensor()
    {
        string path = _dir.File("sample.safetensors");
        SafeTensorsTestData.WriteSample(path);
        using var reader = SafeTensorsReader.Open(path);

        var e = Assert.Throws<KeyNotFoundException>(() => reader.Load("missing"));
        Assert.Contains("missing", e.Message, StringComparison.Ordinal);
        Assert.Contains("sample.safetensors", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_AfterDispose_ThrowsObjectDisposed()
    {
        string path = _dir.File("sample.safetensors");
        SafeTensorsTestData.WriteSample(path);
        var reader = SafeTensorsReader.Open(path);
        reader.Dispose();

        Assert.Throws<ObjectDisposedException>(() => reader.Load("b"));
    }

    [Theory]
    [InlineData(SafeTensorsDType.F32, 8)]
    [InlineData(SafeTensorsDType.I64, 12)]
    [InlineData(SafeTensorsDType.U8, 7)]
    public void LoadAndWrite_InSmallChunks_SameBytesAsWhole(SafeTensorsDType dtype, long chunkBytes)
    {
        // Tensors above 1 GiB go through chunked views; small chunks exercise the same code on small data.
        string path = _dir.File("chunks.safetensors");
        using Tensor original = SafeTensorsTestData.RandomTensor(dtype, [5, 5], new Random(7));
        using (var stream = new MemoryStream())
        {
            TensorBytes.Write(original, stream, chunkBytes);
            Assert.Equal(SafeTensorsTestData.BytesOf(original), stream.ToArray());
        }

        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["t"] = original });
        long dataStart;
        SafeTensorInfo info;
        using (var reader = SafeTensorsReader.Open(path))
        {
            dataStart = reader.DataStart;
            info = reader.GetInfo("t");
        }

        using SafeFileHandle handle = File.OpenHandle(path);
        using Tensor loaded = TensorBytes.Load(handle, dataStart, info, chunkBytes);
        Assert.Equal(SafeTensorsTestData.BytesOf(original), SafeTensorsTestData.BytesOf(loaded));
    }
}
