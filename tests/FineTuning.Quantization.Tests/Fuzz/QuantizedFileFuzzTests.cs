using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FineTuning.Adapters;
using FineTuning.Models;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using FineTuning.Testing.Fuzz;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests.Fuzz;

/// <summary>
/// Seeded mutations of a quantized safetensors file (raw bytes, and the JSON quant_state tensor inside it) and of
/// quantization_config.json, through <see cref="QuantizedSafeTensors.Load"/> and <see cref="QuantizationOptions.FromConfigFile"/>.
/// </summary>
public sealed class QuantizedFileFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory seedDir = new("quant-fuzz");

    public void Dispose() => seedDir.Dispose();

    [Fact]
    public void QuantizedSafeTensorsLoad_MutatedBytes_AcceptsOrThrowsTypedException()
    {
        byte[] seed = File.ReadAllBytes(SaveSeed());
        using TempDirectory folder = FuzzInputs.Folder();
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("quantized safetensors", 41, 200, typeof(QuantizationException), typeof(SafeTensorsFormatException)),
            FuzzInputs.Bytes(seed, focus: 2048),
            bytes => LoadOntoFreshModel(folder.Write("q.safetensors", bytes)));
        output.WriteLine(outcome.ToString());
    }

    [Fact]
    public void QuantizedSafeTensorsLoad_MutatedQuantStateJson_AcceptsOrThrowsQuantizationException()
    {
        string seedPath = SaveSeed();
        Dictionary<string, byte[]> raw;
        Dictionary<string, (ScalarType Type, long[] Shape)> layout;
        using (SafeTensorsReader reader = SafeTensorsReader.Open(seedPath))
        {
            raw = reader.Tensors.ToDictionary(t => t.Name, t => Bytes(reader, t.Name));
            layout = reader.Tensors.ToDictionary(t => t.Name, t => (t.ScalarType, t.GetShapeArray()));
        }

        string stateName = raw.Keys.First(n => n.Contains(".quant_state.", StringComparison.Ordinal));
        string seedJson = Encoding.UTF8.GetString(raw[stateName]);
        using TempDirectory folder = FuzzInputs.Folder();
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("quant_state JSON", 42, 200, typeof(QuantizationException), typeof(SafeTensorsFormatException)),
            FuzzInputs.Json(seedJson),
            json =>
            {
                string path = Path.Combine(folder.Path, "q.safetensors");
                using (var scope = NewDisposeScope())
                {
                    var tensors = raw.ToDictionary(kv => kv.Key, kv => kv.Key == stateName
                        ? tensor(json, ScalarType.Byte)
                        : FromBytes(kv.Value, layout[kv.Key].Type, layout[kv.Key].Shape));
                    SafeTensorsWriter.Write(path, tensors);
                }

                LoadOntoFreshModel(path);
            });
        output.WriteLine(outcome.ToString());
    }

    [Fact]
    public void QuantizationOptionsFromConfigFile_Mutated_AcceptsOrThrowsTypedException()
    {
        using (var model = new TinyNet(seed: 1))
        {
            new QuantizationAdapter(new QuantizationOptions { Type = QuantizationType.FromName("nf4")!, DoubleQuantization = true }).Apply(model);
        }

        const string seed = """{"quant_method": "bitsandbytes", "load_in_4bit": true, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": true, "bnb_4bit_compute_dtype": "float32", "blocksize": 64, "quantized_modules": ["model.up_proj", "model.down_proj"]}""";
        using TempDirectory folder = FuzzInputs.Folder();
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("quantization_config.json (FromConfigFile)", 43, 250, typeof(ModelFileException), typeof(QuantizationException)),
            FuzzInputs.Json(seed),
            bytes => QuantizationOptions.FromConfigFile(folder.Write("quantization_config.json", bytes)));
        output.WriteLine(outcome.ToString());
    }

    [Theory]
    [InlineData("\"blocksize\": 64, \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [4, 64]", "appears more than once")]
    [InlineData("\"blocksize\": 64, \"dtype\": \"\\ud800\", \"shape\": [4, 64]", "lone surrogate")]
    [InlineData("\"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [null, 4]", "shape[0]")]
    [InlineData("\"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [4, 64], \"nested_blocksize\": 256, \"nested_offset\": 1e300", "nested_offset")]
    public void QuantStateJsonParse_IssueReproducers_ReturnTheProblem(string fields, string expected)
    {
        string json = "{\"quant_type\": \"nf4\", " + fields + "}";

        Assert.Null(QuantStateJson.Parse(Encoding.UTF8.GetBytes(json), out string? problem));

        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    private string SaveSeed()
    {
        using var scope = NewDisposeScope();
        using var model = new TinyNet(seed: 1);
        new QuantizationAdapter(new QuantizationOptions { Type = QuantizationType.FromName("nf4")!, DoubleQuantization = true }).Apply(model);
        string path = Path.Combine(seedDir.Path, "seed.safetensors");
        QuantizedSafeTensors.Save(model, path);
        return path;
    }

    private static void LoadOntoFreshModel(string path)
    {
        using var scope = NewDisposeScope();
        using var fresh = new TinyNet(seed: 2);
        QuantizedSafeTensors.Load(fresh, path);
        using (no_grad()) fresh.call(ones(2, 64));
    }

    private static byte[] Bytes(SafeTensorsReader reader, string name)
    {
        using Tensor t = reader.Load(name);
        return t.bytes.ToArray();
    }

    private static Tensor FromBytes(byte[] bytes, ScalarType type, long[] shape)
    {
        Tensor t = empty(shape, type);
        bytes.CopyTo(t.bytes);
        return t;
    }
}
