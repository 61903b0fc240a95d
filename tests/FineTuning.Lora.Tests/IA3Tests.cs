using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using FineTuning.Lora.IA3;
using FineTuning.Lora.Peft;
using FineTuning.Models;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>IA3's own semantics and PEFT file layout; the shared contract is in <see cref="AdapterMatrixTests"/>.</summary>
public sealed class IA3Tests : IDisposable
{
    private readonly TempDirectory _dir = new("ia3");

    public void Dispose() => _dir.Dispose();

    /// <summary>y = (x Wᵀ + b) ⊙ l for attention modules, y = (x ⊙ l) Wᵀ + b for feedforward ones, by hand in float64.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Forward_MatchesHandComputedScaling_InFloat64(bool feedforward)
    {
        using var scope = NewDisposeScope();
        double[,] w = { { 0.5, -1.0, 2.0 }, { 1.5, 0.25, -0.75 } }; // [out 2, in 3]
        double[] b = { 0.1, -0.2 };
        double[] x = { 1.0, -2.0, 0.5 };
        double[] l = feedforward ? new[] { 2.0, 0.5, -1.0 } : new[] { 3.0, -0.5 };
        var linear = nn.Linear(3, 2, dtype: ScalarType.Float64);
        using (no_grad())
        {
            linear.weight!.copy_(tensor(new[] { 0.5, -1.0, 2.0, 1.5, 0.25, -0.75 }).reshape(2, 3));
            linear.bias!.copy_(tensor(b));
        }
        var layer = new IA3Linear(linear, feedforward);
        Assert.Equal(feedforward ? new long[] { 1, 3 } : new long[] { 2, 1 }, layer.Vector.shape);
        using (no_grad()) layer.Vector.copy_(tensor(l).reshape(layer.Vector.shape));

        double[] actual = layer.call(tensor(x, dtype: ScalarType.Float64).reshape(1, 3)).data<double>().ToArray();

        var expected = new double[2];
        for (int o = 0; o < 2; o++)
        {
            double sum = b[o];
            for (int i = 0; i < 3; i++) sum += w[o, i] * x[i] * (feedforward ? l[i] : 1);
            expected[o] = feedforward ? sum : sum * l[o];
        }
        // Three products and sums of exactly representable values: float64 is exact to the last bits.
        Assert.Equal(expected[0], actual[0], 1e-15);
        Assert.Equal(expected[1], actual[1], 1e-15);
    }

    [Fact]
    public void Save_WritesPeftKeysShapesAndConfigFields()
    {
        using var model = new TinyBlock();
        var adapter = new IA3Adapter(new IA3Options { Targets = ModuleTargets.Names("q_proj", "v_proj"), FeedforwardModules = ModuleTargets.Names("v_proj") });
        adapter.Apply(model);
        AdapterFiles.Save(model, _dir.Path, adapter);

        using (SafeTensorsReader reader = SafeTensorsReader.Open(Path.Combine(_dir.Path, AdapterFiles.WeightsFileName)))
        {
            Assert.Equal(new[] { "base_model.model.model.q_proj.ia3_l", "base_model.model.model.v_proj.ia3_l" },
                reader.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
            Assert.Equal(new long[] { 8, 1 }, reader.GetInfo("base_model.model.model.q_proj.ia3_l").GetShapeArray()); // attention: [out, 1]
            Assert.Equal(new long[] { 1, 8 }, reader.GetInfo("base_model.model.model.v_proj.ia3_l").GetShapeArray()); // feedforward: [1, in]
        }
        var config = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(_dir.Path, AdapterFiles.ConfigFileName)))!;
        Assert.Equal("IA3", (string?)config["peft_type"]);
        Assert.Equal(new[] { "q_proj", "v_proj" }, config["target_modules"]!.AsArray().Select(n => (string?)n));
        Assert.Equal(new[] { "v_proj" }, config["feedforward_modules"]!.AsArray().Select(n => (string?)n));
        Assert.False((bool)config["fan_in_fan_out"]!);
        Assert.True((bool)config["inference_mode"]!);
        Assert.Null(config["base_model_name_or_path"]); // TinyBlock is no IPretrainedModel
        Assert.Equal(config.Select(p => p.Key).Order(StringComparer.Ordinal), config.Select(p => p.Key)); // sorted, as PEFT writes
    }

    [Fact]
    public void Validate_FeedforwardModuleThatIsNoTarget_IsReported()
    {
        using var model = new TinyBlock();
        var adapter = new IA3Adapter(new IA3Options { Targets = ModuleTargets.Names("q_proj"), FeedforwardModules = ModuleTargets.Names("v_proj") });
        var ex = Assert.Throws<InvalidConfigurationException>(() => adapter.Apply(model));
        Assert.Contains("\"model.v_proj\", which is not a target", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(model.named_modules(), m => m.module is IA3Linear);
    }

    [Fact]
    public void Apply_OnALayerWithLoRA_IsRefused()
    {
        using var model = new TinyBlock();
        new LoRAAdapter(new LoRAOptions { Targets = LoRATargets.Names("q_proj") }).Apply(model);
        string problem = Assert.Single(new IA3Adapter(new IA3Options { Targets = ModuleTargets.Names("q_proj"), FeedforwardModules = null }).Validate(model));
        Assert.Contains("not supported yet", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fan_in_fan_out", "true", "\"fan_in_fan_out\"")]
    [InlineData("target_modules", "42", "\"target_modules\"")]
    [InlineData("feedforward_modules", "[\"\"]", "\"feedforward_modules\"")]
    [InlineData("modules_to_save", "[\"classifier\"]", "\"modules_to_save\"")]
    public void Load_BadConfigField_ThrowsNamingFileAndField(string key, string json, string expected)
    {
        SaveTinyIA3();
        string configPath = Path.Combine(_dir.Path, AdapterFiles.ConfigFileName);
        var config = (JsonObject)JsonNode.Parse(File.ReadAllText(configPath))!;
        config[key] = JsonNode.Parse(json);
        File.WriteAllText(configPath, config.ToJsonString());
        using var fresh = new TinyBlock();
        var ex = Assert.Throws<AdapterFileException>(() => PeftAdapter.Load(fresh, _dir.Path));
        Assert.StartsWith(configPath, ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(fresh.named_modules(), m => m.module is IA3Linear);
    }

    [Fact]
    public void Load_WeightsWithoutOneVector_ThrowsNamingTheMissingKey()
    {
        SaveTinyIA3();
        string weights = Path.Combine(_dir.Path, AdapterFiles.WeightsFileName);
        Dictionary<string, Tensor> tensors;
        using (SafeTensorsReader reader = SafeTensorsReader.Open(weights)) tensors = reader.LoadAll();
        tensors.Remove("base_model.model.model.v_proj.ia3_l");
        SafeTensorsWriter.Write(weights, tensors);
        using var fresh = new TinyBlock();
        var ex = Assert.Throws<AdapterFileException>(() => PeftAdapter.Load(fresh, _dir.Path));
        Assert.Contains("missing [base_model.model.model.v_proj.ia3_l]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnderAnotherAdapterName_IsNotSupportedYet()
    {
        SaveTinyIA3();
        using var fresh = new TinyBlock();
        var ex = Assert.Throws<NotSupportedException>(() => PeftAdapter.Load(fresh, _dir.Path, "other"));
        Assert.Contains("not supported yet", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Merge_ZeroEntry_IsRefused_AndUnmergeNeedsAMerge()
    {
        using var model = new TinyBlock();
        new IA3Adapter(new IA3Options { Targets = ModuleTargets.Names("q_proj"), FeedforwardModules = null }).Apply(model);
        IA3Linear layer = IA3Adapter.Layers(model)[0].Layer;
        using (no_grad()) layer.Vector[3, 0] = tensor(0f);
        Assert.Contains("0 entry", Assert.Throws<InvalidOperationException>(() => IA3Adapter.Merge(model)).Message, StringComparison.Ordinal);
        Assert.False(layer.IsMerged);
        Assert.Throws<InvalidOperationException>(() => layer.Unmerge());
    }

    private void SaveTinyIA3()
    {
        using var model = new TinyBlock();
        var adapter = new IA3Adapter(new IA3Options { Targets = ModuleTargets.Names("q_proj", "v_proj"), FeedforwardModules = ModuleTargets.Names("v_proj") });
        adapter.Apply(model);
        AdapterFiles.Save(model, _dir.Path, adapter);
    }
}
