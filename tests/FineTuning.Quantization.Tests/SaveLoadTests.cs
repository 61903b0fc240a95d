using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FineTuning.Models.SafeTensors;
using FineTuning.Quantization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>Quantized models through safetensors files with bitsandbytes' tensor names.</summary>
public sealed class SaveLoadTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ft-quant-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static Tensor Input()
    {
        using var g = new Generator(9);
        return randn(new long[] { 5, 64 }, generator: g);
    }

    private string SavedModel(string type, bool dq, out Tensor output)
    {
        using var model = new TinyNet(seed: 1);
        new QuantizationAdapter(new QuantizationOptions { Type = QuantizationType.FromName(type)!, DoubleQuantization = dq }).Apply(model);
        output = model.call(Input()).detach().DetachFromDisposeScope();
        string path = Path.Combine(_dir, $"{type}-{dq}.safetensors");
        QuantizedSafeTensors.Save(model, path);
        return path;
    }

    [Theory]
    [InlineData("nf4", true)]
    [InlineData("nf4", false)]
    [InlineData("fp4", true)]
    [InlineData("int8", false)]
    public void SaveThenLoad_ReproducesTheOutputsExactly(string type, bool dq)
    {
        using var scope = NewDisposeScope();
        string path = SavedModel(type, dq, out Tensor expected);
        using var fresh = new TinyNet(seed: 2); // other random weights, not quantized
        QuantizedSafeTensors.Load(fresh, path);
        Assert.Equal(2, fresh.modules().OfType<QuantizedLinear>().Count());
        Assert.True(fresh.call(Input()).eq(expected).all().item<bool>());
    }

    [Fact]
    public void Save_UsesBitsandbytesTensorNames()
    {
        string path = SavedModel("nf4", dq: true, out _);
        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        string[] names = reader.Tensors.Select(t => t.Name).Where(n => n.StartsWith("model.up_proj.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(new[]
        {
            "model.up_proj.bias", "model.up_proj.weight", "model.up_proj.weight.absmax", "model.up_proj.weight.nested_absmax",
            "model.up_proj.weight.nested_quant_map", "model.up_proj.weight.quant_map", "model.up_proj.weight.quant_state.bitsandbytes__nf4",
        }, names);
        Assert.Equal(new long[] { 128 * 64 / 2, 1 }, reader.GetInfo("model.up_proj.weight").GetShapeArray());
        using Tensor json = reader.Load("model.up_proj.weight.quant_state.bitsandbytes__nf4");
        string text = Encoding.UTF8.GetString(json.data<byte>().ToArray());
        Assert.StartsWith("{\"quant_type\":\"nf4\",\"blocksize\":64,\"dtype\":\"float32\",\"shape\":[128,64],\"nested_blocksize\":256,\"nested_dtype\":\"float32\",\"nested_offset\":", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_InconsistentMetadata_ThrowsTypedErrorAndLeavesTheModel()
    {
        string path = SavedModel("nf4", dq: false, out _);
        const string key = "model.up_proj.weight.quant_state.bitsandbytes__nf4";
        Dictionary<string, Tensor> all;
        using (SafeTensorsReader reader = SafeTensorsReader.Open(path)) all = reader.LoadAll();
        string json = Encoding.UTF8.GetString(all[key].data<byte>().ToArray()).Replace("\"blocksize\":64", "\"blocksize\":128", StringComparison.Ordinal);
        all[key] = tensor(Encoding.UTF8.GetBytes(json));
        string bad = Path.Combine(_dir, "bad.safetensors");
        SafeTensorsWriter.Write(bad, all);

        using var model = new TinyNet(seed: 2);
        var e = Assert.Throws<QuantizationException>(() => QuantizedSafeTensors.Load(model, bad));
        Assert.Contains("layer \"model.up_proj\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("weight.absmax", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(model.modules(), m => m is QuantizedLinear);
    }

    [Fact]
    public void Load_IntoAModelOfOtherShape_ThrowsTypedError()
    {
        string path = SavedModel("fp4", dq: true, out _);
        using var wider = new TinyNet(dim: 128);
        var e = Assert.Throws<QuantizationException>(() => QuantizedSafeTensors.Load(wider, path));
        Assert.Contains("[128, 64] but the model's is [256, 128]", e.Message, StringComparison.Ordinal);
    }
}
