using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.SafeTensors;

/// <summary>Invariants over random inputs, with fixed seeds (Replay) so runs are reproducible.</summary>
public sealed class SafeTensorsPropertyTests : IDisposable
{
    private readonly TempDirectory _dir = new("finetuning-st-");

    public void Dispose() => _dir.Dispose();

    public sealed record TensorSpec(SafeTensorsDType DType, long[] Shape, int Seed)
    {
        public override string ToString() => $"{DType}[{string.Join(",", Shape)}]#{Seed}";
    }

    /// <summary>Overwrites (position, bytes written there, clipped at the end of the file) and an optional truncation length (-1: none).</summary>
    public sealed record Mutation((int Position, byte[] Bytes)[] Edits, int TruncateTo)
    {
        public override string ToString() => $"edits [{string.Join(" ", Edits.Select(e => $"{e.Position}:{Convert.ToHexString(e.Bytes)}"))}] truncate {TruncateTo}";
    }

    /// <summary>Tokens that push the parser towards its edge cases when written over part of a header.</summary>
    private static readonly byte[][] Tokens = new[]
    {
        "\\ud800", "\\udc00", "-1", "1.5", "1e400", "18446744073709551616", "9223372036854775807", "null", "[]", "{}",
        "\"__metadata__\"", "\"BOOL\"", "\"F64\"", "\"U8\"", "[0,0]", "[]]", "\"\"", "\\\"",
    }.Select(t => System.Text.Encoding.UTF8.GetBytes(t)).ToArray();

    private static readonly Gen<TensorSpec> Spec =
        from dtype in Gen.Elements(Enum.GetValues<SafeTensorsDType>())
        from rank in Gen.Choose(0, 3)
        from dims in Gen.ArrayOf(Gen.Choose(0, 4), rank)
        from seed in Gen.Choose(0, int.MaxValue)
        select new TensorSpec(dtype, dims.Select(d => (long)d).ToArray(), seed);

    private static readonly Gen<TensorSpec[]> Specs =
        from count in Gen.Choose(1, 4)
        from specs in Gen.ArrayOf(Spec, count)
        select specs;

    [Property(MaxTest = 100, Replay = "(20261128,1)")]
    public Property RandomTensors_WriteThenLoad_RoundTripExactly() =>
        Prop.ForAll(Arb.From(Specs), specs =>
        {
            string path = _dir.File("roundtrip.safetensors");
            using DisposeScope scope = torch.NewDisposeScope();
            var tensors = new Dictionary<string, Tensor>();
            for (int i = 0; i < specs.Length; i++)
            {
                tensors[$"layers.{i}.w"] = SafeTensorsTestData.RandomTensor(specs[i].DType, specs[i].Shape, new Random(specs[i].Seed));
            }

            SafeTensorsWriter.Write(path, tensors);
            using var reader = SafeTensorsReader.Open(path);
            Dictionary<string, Tensor> loaded = reader.LoadAll();
            return loaded.Count == tensors.Count && tensors.All(p =>
                loaded[p.Key].dtype == p.Value.dtype
                && loaded[p.Key].shape.SequenceEqual(p.Value.shape)
                && SafeTensorsTestData.BytesOf(loaded[p.Key]).AsSpan().SequenceEqual(SafeTensorsTestData.BytesOf(p.Value)));
        });

    [Property(MaxTest = 300, Replay = "(20261128,3)")]
    public Property MutatedOrTruncatedFile_OpenAndLoadAll_OnlyEverThrowFormatException()
    {
        string basePath = _dir.File("base.safetensors");
        WriteFuzzBase(basePath);
        byte[] original = File.ReadAllBytes(basePath);
        int headerEnd;
        using (var reader = SafeTensorsReader.Open(basePath)) headerEnd = (int)reader.DataStart;

        // Most edits land in the header, where the parser's decisions are; some write JSON-significant characters.
        Gen<int> position = Gen.Frequency((4, Gen.Choose(0, headerEnd - 1)), (1, Gen.Choose(0, original.Length - 1)));
        Gen<byte[]> value = Gen.Frequency(
            (2, Gen.Choose(0, 255).Select(v => new[] { (byte)v })),
            (3, Gen.Elements("{}[]\",:-0123456789e. \\".Select(c => new[] { (byte)c }).ToArray())),
            (3, Gen.Elements(Tokens)));
        Gen<Mutation> mutation =
            from count in Gen.Choose(0, 4)
            from edits in Gen.ArrayOf(Gen.Zip(position, value, (p, v) => (p, v)), count)
            from truncate in Gen.Frequency((3, Gen.Constant(-1)), (1, Gen.Choose(0, original.Length - 1)))
            select new Mutation(edits, truncate);

        return Prop.ForAll(Arb.From(mutation), m =>
        {
            byte[] bytes = (byte[])original.Clone();
            foreach ((int p, byte[] v) in m.Edits) v.AsSpan(0, Math.Min(v.Length, bytes.Length - p)).CopyTo(bytes.AsSpan(p));
            if (m.TruncateTo >= 0) bytes = bytes[..m.TruncateTo];
            string path = _dir.File("mutated.safetensors");
            File.WriteAllBytes(path, bytes);
            try
            {
                using var reader = SafeTensorsReader.Open(path);
                using DisposeScope scope = torch.NewDisposeScope();
                return reader.LoadAll().Count == reader.Tensors.Count;
            }
            catch (SafeTensorsFormatException e)
            {
                return e.Message.Contains("mutated.safetensors", StringComparison.Ordinal);
            }
        });
    }

    [Property(MaxTest = 300, Replay = "(20261128,5)")]
    public Property MutatedIndex_OpenSharded_OnlyEverThrowsFormatException()
    {
        string folder = _dir.File("sharded");
        using (DisposeScope scope = torch.NewDisposeScope())
        {
            var random = new Random(12);
            var tensors = new Dictionary<string, Tensor>();
            for (int i = 0; i < 4; i++) tensors[$"model.layers.{i}.weight"] = SafeTensorsTestData.RandomTensor(SafeTensorsDType.F32, [2], random);
            SafeTensorsWriter.WriteSharded(folder, tensors, maxShardBytes: 16, new Dictionary<string, string> { ["format"] = "pt" });
        }

        string indexPath = Path.Combine(folder, ShardedSafeTensorsReader.DefaultIndexFileName);
        byte[] original = File.ReadAllBytes(indexPath);
        Gen<byte[]> value = Gen.Frequency(
            (2, Gen.Choose(0, 255).Select(v => new[] { (byte)v })),
            (3, Gen.Elements("{}[]\",:-0123456789./ \\".Select(c => new[] { (byte)c }).ToArray())),
            (3, Gen.Elements(Tokens)));
        Gen<Mutation> mutation =
            from count in Gen.Choose(1, 3)
            from edits in Gen.ArrayOf(Gen.Zip(Gen.Choose(0, original.Length - 1), value, (p, v) => (p, v)), count)
            from truncate in Gen.Frequency((4, Gen.Constant(-1)), (1, Gen.Choose(0, original.Length - 1)))
            select new Mutation(edits, truncate);

        return Prop.ForAll(Arb.From(mutation), m =>
        {
            byte[] bytes = (byte[])original.Clone();
            foreach ((int p, byte[] v) in m.Edits) v.AsSpan(0, Math.Min(v.Length, bytes.Length - p)).CopyTo(bytes.AsSpan(p));
            if (m.TruncateTo >= 0) bytes = bytes[..m.TruncateTo];
            File.WriteAllBytes(indexPath, bytes);
            try
            {
                using var reader = ShardedSafeTensorsReader.Open(folder);
                return reader.Tensors.Count == reader.WeightMap.Count;
            }
            catch (SafeTensorsFormatException e)
            {
                return e.Message.Contains(ShardedSafeTensorsReader.DefaultIndexFileName, StringComparison.Ordinal);
            }
        });
    }

    /// <summary>Long names and metadata give edits a fair chance to land inside JSON strings.</summary>
    private static void WriteFuzzBase(string path)
    {
        var random = new Random(11);
        using DisposeScope scope = torch.NewDisposeScope();
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor>
        {
            ["model.layers.0.self_attn.q_proj.weight"] = SafeTensorsTestData.RandomTensor(SafeTensorsDType.BF16, [2, 2], random),
            ["model.layers.0.mlp.gate_proj.flags"] = SafeTensorsTestData.RandomTensor(SafeTensorsDType.Bool, [3], random),
            ["model.embed_tokens.weight"] = SafeTensorsTestData.RandomTensor(SafeTensorsDType.F32, [2], random),
            ["lm_head.bias"] = SafeTensorsTestData.RandomTensor(SafeTensorsDType.I64, [], random),
            ["model.norm.empty_weight"] = SafeTensorsTestData.RandomTensor(SafeTensorsDType.F16, [0, 2], random),
        }, new Dictionary<string, string> { ["format"] = "pt", ["description"] = "a longer metadata value for the fuzzer to edit" });
    }
}
