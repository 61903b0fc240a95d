using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Lora.Peft;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests.Faults;

/// <summary>A failed <see cref="PeftAdapter.Load"/> leaves the model exactly as it was; a load takes the model's mode.</summary>
public sealed class AdapterLoadFaultTests : IDisposable
{
    private readonly TempDirectory _dir = new("peft-fault");

    public void Dispose() => _dir.Dispose();

    private static Tensor Input() => linspace(-1, 1, 40).reshape(5, 8);

    /// <summary>Saves a perturbed adapter (q_proj, v_proj, dropout 0.1, classifier in modules_to_save) to <see cref="_dir.Path"/>.</summary>
    private void SaveAdapter()
    {
        using var trained = new TinyBlock();
        var options = new LoRAOptions { R = 2, Alpha = 4, Dropout = 0.1 };
        options.ModulesToSave.Add("classifier");
        new LoRAAdapter(options).Apply(trained);
        AdapterContractTests.Perturb(trained, 7);
        PeftAdapter.Save(trained, _dir.Path);
    }

    /// <summary>Everything a load could change: modules (type, mode), parameters (values, requires_grad), active adapters.</summary>
    private static List<string> Describe(nn.Module model)
    {
        var lines = new List<string> { $"root training={model.training}" };
        lines.AddRange(model.named_modules().Select(m => $"module {m.name} {m.module.GetType().Name} training={m.module.training}" +
                                                         (m.module is LoRALinear l ? $" active={l.ActiveAdapter} adapters={string.Join("|", l.AdapterNames.OrderBy(n => n, StringComparer.Ordinal))} merged={l.MergedAdapters.Count}" : "")));
        foreach ((string name, var p) in model.named_parameters())
        {
            using Tensor bits = p.detach().to(ScalarType.Float64);
            lines.Add($"parameter {name} [{string.Join(",", p.shape)}] {p.dtype} grad={p.requires_grad} {string.Join(",", bits.data<double>().ToArray().Select(v => BitConverter.DoubleToInt64Bits(v)))}");
        }
        lines.AddRange(model.named_buffers().Select(b => $"buffer {b.name} [{string.Join(",", b.buffer.shape)}]"));
        return lines;
    }

    private void RewriteWeights(Action<Dictionary<string, Tensor>> change)
    {
        string path = Path.Combine(_dir.Path, PeftAdapter.WeightsFileName);
        Dictionary<string, Tensor> tensors;
        using (SafeTensorsReader reader = SafeTensorsReader.Open(path)) tensors = reader.LoadAll();
        change(tensors);
        SafeTensorsWriter.Write(path, tensors);
    }

    private void RewriteConfig(Action<JsonObject> change)
    {
        string path = Path.Combine(_dir.Path, PeftAdapterConfig.FileName);
        var config = (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;
        change(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    public static TheoryData<string> Defects() => new()
    {
        "lora-a-shape", "lora-b-missing", "unknown-module", "lora-path-in-modules-to-save", "dora-without-magnitude",
        "modules-to-save-shape", "quantized-base-expected", "name-taken", "merged-adapter",
    };

    [Theory]
    [MemberData(nameof(Defects))]
    public void Load_FailingCheck_LeavesEveryModuleAndParameterAsItWas(string defect)
    {
        SaveAdapter();
        string adapterName = "default";
        switch (defect)
        {
            case "lora-a-shape": RewriteWeights(t => t["base_model.model.model.q_proj.lora_A.weight"] = zeros(3, 8)); break;
            case "lora-b-missing": RewriteWeights(t => t.Remove("base_model.model.model.v_proj.lora_B.weight")); break;
            case "unknown-module": RewriteWeights(t => t["base_model.model.model.k_proj.lora_A.weight"] = zeros(2, 8)); break;
            case "lora-path-in-modules-to-save": RewriteConfig(c => c["modules_to_save"] = new JsonArray("classifier", "v_proj")); break;
            case "dora-without-magnitude": RewriteConfig(c => c["use_dora"] = true); break;
            case "modules-to-save-shape": RewriteWeights(t => t["base_model.model.classifier.bias"] = zeros(4)); break;
            case "quantized-base-expected":
                File.WriteAllText(Path.Combine(_dir.Path, "quantization_config.json"), """{"quant_method": "bitsandbytes", "bnb_4bit_quant_type": "nf4", "quantized_modules": ["model.q_proj"]}""");
                break;
            case "name-taken": adapterName = "other"; break;
        }

        using var model = new TinyBlock(seed: 3);
        new LoRAAdapter(new LoRAOptions { R = 2, Alpha = 8, Dropout = 0.2, AdapterName = "other" }).Apply(model);
        AdapterContractTests.Perturb(model, 11);
        if (defect == "merged-adapter") LoRA.Merge(model);
        model.eval();
        List<string> before = Describe(model);

        Exception e = Assert.ThrowsAny<Exception>(() => PeftAdapter.Load(model, _dir.Path, adapterName));

        Assert.True(e is AdapterFormatException or InvalidOperationException, $"untyped {e.GetType().Name}: {e.Message}");
        Assert.Equal(before, Describe(model));
    }

    [Fact]
    public void Load_AdapterWithDropoutIntoModelInEvalMode_NewModulesAreInEvalModeAndOutputsRepeat()
    {
        SaveAdapter();
        using var model = new TinyBlock();
        model.eval();

        PeftAdapter.Load(model, _dir.Path);

        Assert.Empty(model.named_modules().Where(m => m.module.training).Select(m => m.name));
        using Tensor first = model.call(Input()), second = model.call(Input());
        Assert.True(first.equal(second).all().item<bool>(), "the same input gave different outputs: dropout is active");
        using var noAdapter = new TinyBlock();
        noAdapter.eval();
        using Tensor plain = noAdapter.call(Input());
        Assert.False(first.equal(plain).all().item<bool>(), "the adapter had no effect, so the test proves nothing");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Apply_NewModulesTakeTheModelsMode(bool training)
    {
        using var model = new TinyBlock();
        model.train(training);
        new LoRAAdapter(new LoRAOptions { R = 2, Alpha = 4, Dropout = 0.1, UseDoRA = true }).Apply(model);
        Assert.All(model.named_modules(), m => Assert.True(m.module.training == training, $"{m.name} is in the other mode"));
    }
}
