using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.Lora.Peft;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

public sealed class PeftFormatTests : IDisposable
{
    private readonly TempDirectory _dir = new("peft");

    public void Dispose() => _dir.Dispose();

    private static Tensor Input() => linspace(-1, 1, 40).reshape(5, 8);

    [Theory]
    [MemberData(nameof(AdapterContractTests.Kinds), MemberType = typeof(AdapterContractTests))]
    public void SaveThenLoadOntoFreshModel_GivesIdenticalOutputs(string kind)
    {
        using var scope = NewDisposeScope();
        using var trained = new TinyBlock();
        LoRAOptions options = AdapterContractTests.OptionsFor(kind);
        options.ModulesToSave.Add("classifier");
        new LoRAAdapter(options).Apply(trained);
        AdapterContractTests.Perturb(trained, 7);
        using (no_grad()) trained.named_parameters().First(p => p.name == "classifier.bias").parameter.add_(1.5);
        trained.eval();
        Tensor expected = trained.call(Input());

        PeftAdapter.Save(trained, _dir.Path);
        using var fresh = new TinyBlock();
        PeftAdapter.Load(fresh, _dir.Path);
        fresh.eval();

        Assert.True(fresh.call(Input()).equal(expected).all().item<bool>());
    }

    [Fact]
    public void Save_WritesPeftKeysAndConfigFields()
    {
        using var model = new TinyBlock();
        var options = new LoRAOptions { R = 4, Alpha = 16, UseRsLoRA = true, Dropout = 0.05 };
        options.ModulesToSave.Add("classifier");
        new LoRAAdapter(options).Apply(model);
        PeftAdapter.Save(model, _dir.Path);

        using (SafeTensorsReader reader = SafeTensorsReader.Open(Path.Combine(_dir.Path, "adapter_model.safetensors")))
        {
            Assert.Equal(new[]
            {
                "base_model.model.classifier.bias", "base_model.model.classifier.weight",
                "base_model.model.model.q_proj.lora_A.weight", "base_model.model.model.q_proj.lora_B.weight",
                "base_model.model.model.v_proj.lora_A.weight", "base_model.model.model.v_proj.lora_B.weight",
            }, reader.Tensors.Select(t => t.Name).OrderBy(n => n, StringComparer.Ordinal));
            Assert.Equal(new long[] { 4, 8 }, reader.GetInfo("base_model.model.model.q_proj.lora_A.weight").GetShapeArray());
        }
        using JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.Path, "adapter_config.json")));
        JsonElement root = config.RootElement;
        Assert.Equal("LORA", root.GetProperty("peft_type").GetString());
        Assert.Equal(4, root.GetProperty("r").GetInt32());
        Assert.Equal(16, root.GetProperty("lora_alpha").GetDouble());
        Assert.Equal(0.05, root.GetProperty("lora_dropout").GetDouble());
        Assert.True(root.GetProperty("use_rslora").GetBoolean());
        Assert.False(root.GetProperty("use_dora").GetBoolean());
        Assert.Equal(new[] { "q_proj", "v_proj" }, root.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(new[] { "classifier" }, root.GetProperty("modules_to_save").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("none", root.GetProperty("bias").GetString());
    }

    /// <summary>A fixture laid out by hand as PEFT writes it; the expected output is computed by hand from the formula.</summary>
    [Fact]
    public void Load_HandWrittenPeftFixture_AppliesScaledLowRankUpdate()
    {
        using var scope = NewDisposeScope();
        File.WriteAllText(Path.Combine(_dir.Path, "adapter_config.json"), """
            {
              "base_model_name_or_path": "tiny",
              "bias": "none",
              "fan_in_fan_out": false,
              "inference_mode": true,
              "init_lora_weights": true,
              "lora_alpha": 6,
              "lora_dropout": 0.1,
              "modules_to_save": null,
              "peft_type": "LORA",
              "r": 2,
              "target_modules": ["v_proj"],
              "task_type": "SEQ_CLS",
              "use_dora": false,
              "use_rslora": false,
              "some_future_field": {"ignored": true}
            }
            """);
        Tensor a = arange(16, dtype: ScalarType.Float32).reshape(2, 8).div(10);
        Tensor b = arange(16, dtype: ScalarType.Float32).reshape(8, 2).div(-20);
        SafeTensorsWriter.Write(Path.Combine(_dir.Path, "adapter_model.safetensors"), new Dictionary<string, Tensor>
        {
            ["base_model.model.model.v_proj.lora_A.weight"] = a,
            ["base_model.model.model.v_proj.lora_B.weight"] = b,
        });
        using var model = new TinyBlock();
        var v = (TorchSharp.Modules.Linear)model.named_modules().First(m => m.name == "model.v_proj").module;
        Tensor w = v.weight!.detach().clone(), bias = v.bias!.detach().clone();

        PeftAdapter.Load(model, _dir.Path);
        model.eval();

        var layer = (LoRALinear)model.named_modules().First(m => m.name == "model.v_proj").module;
        Tensor x = Input();
        Tensor expected = x.matmul(w.t()) + bias + x.matmul(a.t()).matmul(b.t()) * (6.0 / 2);
        Assert.True(layer.call(x).allclose(expected, rtol: 1e-5, atol: 1e-5));
        Assert.Single(LoRA.Layers(model));
    }

    /// <summary>DoRA as PEFT computes it, by hand: W' = m / ||W + s B A||_row * (W + s B A), bias added after.</summary>
    [Fact]
    public void Load_HandWrittenDoRAFixture_MatchesPeftFormula()
    {
        using var scope = NewDisposeScope();
        File.WriteAllText(Path.Combine(_dir.Path, "adapter_config.json"),
            "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"q_proj\"], \"use_dora\": true}");
        Tensor a = arange(16, dtype: ScalarType.Float32).reshape(2, 8).div(10);
        Tensor b = arange(16, dtype: ScalarType.Float32).reshape(8, 2).div(-20);
        Tensor m = linspace(0.5, 2.0, 8);
        SafeTensorsWriter.Write(Path.Combine(_dir.Path, "adapter_model.safetensors"), new Dictionary<string, Tensor>
        {
            ["base_model.model.model.q_proj.lora_A.weight"] = a,
            ["base_model.model.model.q_proj.lora_B.weight"] = b,
            ["base_model.model.model.q_proj.lora_magnitude_vector"] = m,
        });
        using var model = new TinyBlock();
        var q = (TorchSharp.Modules.Linear)model.named_modules().First(x => x.name == "model.q_proj").module;
        Tensor w = q.weight!.detach().clone(), bias = q.bias!.detach().clone();

        PeftAdapter.Load(model, _dir.Path);
        model.eval();

        Tensor combined = w + b.matmul(a) * 2.0;
        Tensor norm = combined.square().sum(new long[] { 1 }).sqrt();
        Tensor expectedWeight = combined * (m / norm).unsqueeze(1);
        Tensor x = Input();
        var layer = (LoRALinear)model.named_modules().First(n => n.name == "model.q_proj").module;
        Assert.True(layer.call(x).allclose(x.matmul(expectedWeight.t()) + bias, rtol: 1e-5, atol: 1e-5));
        Assert.True(layer.IsDoRA("default"));
    }

    [Fact]
    public void Load_MagnitudeWithoutUseDora_IsATypedError()
    {
        File.WriteAllText(Path.Combine(_dir.Path, "adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 2}");
        SafeTensorsWriter.Write(Path.Combine(_dir.Path, "adapter_model.safetensors"), new Dictionary<string, Tensor>
        {
            ["base_model.model.model.q_proj.lora_magnitude_vector"] = ones(8),
        });
        using var model = new TinyBlock();
        var ex = Assert.Throws<AdapterFormatException>(() => PeftAdapter.Load(model, _dir.Path));
        Assert.Contains("use_dora", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ShapeMismatch_NamesTheTensor_AndLeavesModelUnchanged()
    {
        using var other = new TinyBlock(dim: 6);
        new LoRAAdapter(new LoRAOptions { R = 2 }).Apply(other);
        PeftAdapter.Save(other, _dir.Path);
        using var model = new TinyBlock(dim: 8);

        var ex = Assert.Throws<AdapterFormatException>(() => PeftAdapter.Load(model, _dir.Path));

        Assert.Contains("base_model.model.model.q_proj.lora_A.weight", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 6]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 8]", ex.Message, StringComparison.Ordinal);
        Assert.Empty(LoRA.Layers(model));
    }

    [Fact]
    public void Load_BadFolders_GiveTypedErrors()
    {
        using var model = new TinyBlock();
        Assert.Throws<AdapterFormatException>(() => PeftAdapter.Load(model, _dir.Path)); // nothing there
        File.WriteAllText(Path.Combine(_dir.Path, "adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": \"eight\"}");
        File.WriteAllBytes(Path.Combine(_dir.Path, "adapter_model.safetensors"), new byte[] { 1, 2, 3 });
        var ex = Assert.Throws<AdapterFormatException>(() => PeftAdapter.Load(model, _dir.Path));
        Assert.Contains("\"r\"", ex.Message, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(_dir.Path, "adapter_config.json"), "{\"peft_type\": \"PREFIX_TUNING\", \"r\": 8}");
        Assert.Contains("PREFIX_TUNING", Assert.Throws<AdapterFormatException>(() => PeftAdapter.Load(model, _dir.Path)).Message, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(_dir.Path, "adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 8}");
        Assert.Throws<SafeTensorsFormatException>(() => PeftAdapter.Load(model, _dir.Path)); // the weights file is garbage
        Assert.Empty(LoRA.Layers(model));
    }
}
