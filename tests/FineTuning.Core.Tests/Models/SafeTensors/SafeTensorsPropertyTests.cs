using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Models.SafeTensors;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.SafeTensors;

/// <summary>Invariants over random inputs, with fixed seeds (Replay) so runs are reproducible.</summary>
public sealed class SafeTensorsPropertyTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public sealed record TensorSpec(SafeTensorsDType DType, long[] Shape, int Seed)
    {
        public override string ToString() => $"{DType}[{string.Join(",", Shape)}]#{Seed}";
    }

    /// <summary>Byte edits (position, new value) and an optional truncation length (-1: none).</summary>
    public sealed record Mutation((int Position, byte Value)[] Edits, int TruncateTo)
    {
        public override string ToString() => $"edits [{string.Join(" ", Edits.Select(e => $"{e.Position}:{e.Value:X2}"))}] truncate {TruncateTo}";
    }

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

    [Property(MaxTest = 200, Replay = "(20261128,3)")]
    public Property MutatedOrTruncatedFile_OpenAndLoadAll_OnlyEverThrowFormatException()
    {
        string basePath = _dir.File("base.safetensors");
        SafeTensorsTestData.WriteSample(basePath);
        byte[] original = File.ReadAllBytes(basePath);
        int headerEnd;
        using (var reader = SafeTensorsReader.Open(basePath)) headerEnd = (int)reader.DataStart;

        // Most edits land in the header, where the parser's decisions are; some write JSON-significant characters.
        Gen<int> position = Gen.Frequency((4, Gen.Choose(0, headerEnd - 1)), (1, Gen.Choose(0, original.Length - 1)));
        Gen<byte> value = Gen.Frequency(
            (1, Gen.Choose(0, 255).Select(v => (byte)v)),
            (2, Gen.Elements("{}[]\",:-0123456789e. \\".Select(c => (byte)c).ToArray())));
        Gen<Mutation> mutation =
            from count in Gen.Choose(0, 4)
            from edits in Gen.ArrayOf(Gen.Zip(position, value, (p, v) => (p, v)), count)
            from truncate in Gen.Frequency((3, Gen.Constant(-1)), (1, Gen.Choose(0, original.Length - 1)))
            select new Mutation(edits, truncate);

        return Prop.ForAll(Arb.From(mutation), m =>
        {
            byte[] bytes = (byte[])original.Clone();
            foreach ((int p, byte v) in m.Edits) bytes[p] = v;
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
}
