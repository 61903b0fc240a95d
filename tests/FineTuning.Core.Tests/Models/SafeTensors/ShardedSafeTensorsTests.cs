using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.SafeTensors;

public sealed class ShardedSafeTensorsTests : IDisposable
{
    private readonly TempDirectory _dir = new("finetuning-st-");
    private readonly Dictionary<string, Tensor> _tensors;

    public ShardedSafeTensorsTests()
    {
        var random = new Random(5);
        // 40 + 40 + 24 + 16 + 200 bytes, in name order: a, b, c, d, e.
        _tensors = new Dictionary<string, Tensor>
        {
            ["a"] = SafeTensorsTestData.RandomTensor(SafeTensorsDType.F32, [10], random),
            ["b"] = SafeTensorsTestData.RandomTensor(SafeTensorsDType.BF16, [4, 5], random),
            ["c"] = SafeTensorsTestData.RandomTensor(SafeTensorsDType.I64, [3], random),
            ["d"] = SafeTensorsTestData.RandomTensor(SafeTensorsDType.Bool, [16], random),
            ["e"] = SafeTensorsTestData.RandomTensor(SafeTensorsDType.F64, [25], random),
        };
    }

    public void Dispose()
    {
        foreach (Tensor t in _tensors.Values) t.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void WriteSharded_ThenOpen_ShardsByBudgetAndRoundTrips()
    {
        string index = SafeTensorsWriter.WriteSharded(_dir.Path, _tensors, maxShardBytes: 100, new Dictionary<string, string> { ["format"] = "pt" });

        using var reader = ShardedSafeTensorsReader.Open(_dir.Path);
        Assert.Equal(_dir.File("model.safetensors.index.json"), index);
        // a+b = 80 fits, +c = 104 does not; c+d = 40, +e = 240 does not; e alone exceeds the budget.
        Assert.Equal(new[] { "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors" }, reader.ShardFiles);
        Assert.Equal("model-00001-of-00003.safetensors", reader.WeightMap["b"]);
        Assert.Equal("model-00002-of-00003.safetensors", reader.WeightMap["c"]);
        Assert.Equal("model-00002-of-00003.safetensors", reader.WeightMap["d"]);
        Assert.Equal("model-00003-of-00003.safetensors", reader.WeightMap["e"]);
        Assert.Equal("320", reader.Metadata["total_size"]);
        Assert.Equal("pt", reader.Metadata["format"]);
        Assert.Equal("pt", reader.GetShard("model-00002-of-00003.safetensors").Metadata["format"]);
        Assert.Equal(new[] { "a", "b", "c", "d", "e" }, reader.Tensors.Select(t => t.Name));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));

        Dictionary<string, Tensor> loaded = reader.LoadAll();
        try
        {
            foreach ((string name, Tensor original) in _tensors)
            {
                Assert.Equal(original.dtype, loaded[name].dtype);
                Assert.Equal(original.shape, loaded[name].shape);
                Assert.Equal(SafeTensorsTestData.BytesOf(original), SafeTensorsTestData.BytesOf(loaded[name]));
            }
        }
        finally
        {
            foreach (Tensor t in loaded.Values) t.Dispose();
        }
    }

    [Fact]
    public void CheckpointOpen_ShardedSingleOrNeither_PicksTheRightReader()
    {
        string sharded = Path.Combine(_dir.Path, "sharded"), single = Path.Combine(_dir.Path, "single"), empty = Path.Combine(_dir.Path, "empty");
        SafeTensorsWriter.WriteSharded(sharded, _tensors, maxShardBytes: 100);
        SafeTensorsWriter.Write(Path.Combine(single, "model.safetensors"), _tensors);
        Directory.CreateDirectory(empty);

        using ISafeTensorsReader fromShards = SafeTensorsCheckpoint.Open(sharded);
        using ISafeTensorsReader fromSingle = SafeTensorsCheckpoint.Open(single);

        Assert.IsType<ShardedSafeTensorsReader>(fromShards);
        Assert.IsType<SafeTensorsReader>(fromSingle);
        Assert.Equal(fromShards.Tensors.Select(t => (t.Name, t.DType, t.ByteLength)), fromSingle.Tensors.Select(t => (t.Name, t.DType, t.ByteLength)));
        Assert.True(fromSingle.TryGetInfo("e", out SafeTensorInfo? e) && e.ElementCount == 25);
        Assert.Throws<FileNotFoundException>(() => SafeTensorsCheckpoint.Open(empty));
    }

    [Fact]
    public void WriteSharded_Index_IsHuggingFaceShaped()
    {
        string index = SafeTensorsWriter.WriteSharded(_dir.Path, _tensors, maxShardBytes: 1_000_000, filePrefix: "adapter");

        using JsonDocument json = JsonDocument.Parse(File.ReadAllBytes(index));
        Assert.EndsWith("adapter.safetensors.index.json", index, StringComparison.Ordinal);
        Assert.Equal(320, json.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
        Assert.All(json.RootElement.GetProperty("weight_map").EnumerateObject(),
            p => Assert.Equal("adapter-00001-of-00001.safetensors", p.Value.GetString()));
    }

    [Fact]
    public void Open_ShardMissing_ThrowsNamingIndexAndTensor()
    {
        SafeTensorsWriter.WriteSharded(_dir.Path, _tensors, maxShardBytes: 100);
        File.Delete(_dir.File("model-00002-of-00003.safetensors"));

        var e = Assert.Throws<SafeTensorsFormatException>(() => ShardedSafeTensorsReader.Open(_dir.Path).Dispose());

        Assert.Contains("model.safetensors.index.json", e.Message, StringComparison.Ordinal);
        Assert.Contains("model-00002-of-00003.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Equal("c", e.TensorName);
    }

    [Theory]
    [InlineData("""{"a":"s1.safetensors","b":"s1.safetensors","z":"s1.safetensors"}""", "z", "header has no such tensor")]
    [InlineData("""{"a":"s1.safetensors"}""", "b", "does not list it")]
    [InlineData("""{"a":"s1.safetensors","b":"s2.safetensors"}""", "b", "puts it in")]
    [InlineData("""{"a":"s1.safetensors","b":"../s1.safetensors"}""", "b", "not a plain file name")]
    [InlineData("""{"a":"s1.safetensors","b":"sub/s1.safetensors"}""", "b", "not a plain file name")]
    [InlineData("""{"a":"s1.safetensors","b":""}""", "b", "not a plain file name")]
    [InlineData("""{"a":"s1.safetensors","b":3}""", "b", "not a file name")]
    [InlineData("""{"a":"s1.safetensors","a":"s1.safetensors","b":"s1.safetensors"}""", "a", "more than once")]
    public void Open_WeightMapDisagreesWithShards_ThrowsNamingIndexAndTensor(string weightMap, string tensor, string fragment)
    {
        using Tensor a = torch.ones(2);
        using Tensor b = torch.zeros(3);
        SafeTensorsWriter.Write(_dir.File("s1.safetensors"), new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b });
        SafeTensorsWriter.Write(_dir.File("s2.safetensors"), new Dictionary<string, Tensor> { ["c"] = a });
        File.WriteAllText(_dir.File("model.safetensors.index.json"), $$"""{"metadata":{},"weight_map":{{weightMap}}}""");

        var e = Assert.Throws<SafeTensorsFormatException>(() => ShardedSafeTensorsReader.Open(_dir.Path).Dispose());

        Assert.Contains("model.safetensors.index.json", e.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        Assert.Equal(tensor, e.TensorName);
    }

    [Theory]
    [InlineData("""{"weight_map":""", "not valid JSON")]
    [InlineData("""[]""", "not an object")]
    [InlineData("""{"metadata":{}}""", "no 'weight_map'")]
    [InlineData("""{"weight_map":[]}""", "no 'weight_map'")]
    [InlineData("""{"metadata":3,"weight_map":{}}""", "'metadata' is a JSON Number")]
    [InlineData("""{"weight_map":{},"weight_map":{}}""", "more than once")]
    [InlineData("""{"weight_map":{"\udc00":"s.safetensors"}}""", "invalid string")]
    [InlineData("""{"metadata":{"k":"\ud800"},"weight_map":{}}""", "invalid string")]
    public void Open_MalformedIndex_ThrowsFormatException(string json, string fragment)
    {
        File.WriteAllText(_dir.File("model.safetensors.index.json"), json);

        var e = Assert.Throws<SafeTensorsFormatException>(() => ShardedSafeTensorsReader.Open(_dir.Path).Dispose());

        Assert.Contains("model.safetensors.index.json", e.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_CorruptShard_ThrowsNamingTheShard()
    {
        SafeTensorsWriter.WriteSharded(_dir.Path, _tensors, maxShardBytes: 100);
        File.WriteAllBytes(_dir.File("model-00003-of-00003.safetensors"), [1, 2, 3]);

        var e = Assert.Throws<SafeTensorsFormatException>(() => ShardedSafeTensorsReader.Open(_dir.Path).Dispose());

        Assert.Contains("model-00003-of-00003.safetensors", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteSharded_ReservedMetadataKeyOrBadPrefix_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.WriteSharded(_dir.Path, _tensors, 100, new Dictionary<string, string> { ["total_size"] = "1" }));
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.WriteSharded(_dir.Path, _tensors, 100, filePrefix: "../model"));
        Assert.Throws<ArgumentOutOfRangeException>(() => SafeTensorsWriter.WriteSharded(_dir.Path, _tensors, 0));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }
}
