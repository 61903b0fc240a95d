using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Lora.Peft;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>rank_pattern / alpha_pattern, layers_to_transform / layers_pattern and exclude_modules with PEFT's matching rules.</summary>
public sealed class PatternTests : IDisposable
{
    private readonly TempDirectory _dir = new("patterns");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("model.layers.0.q_proj", "q_proj")]        // a suffix after a '.'
    [InlineData("model.layers.0.v_proj", @"layers\.0\.v_proj")] // a regex over the tail
    [InlineData("model.layers.1.v_proj", "v_proj")]
    [InlineData("model.q_proj", "model.q_proj")]             // the full name itself
    public void Key_FollowsPeftGetPatternKey(string module, string expected) =>
        Assert.Equal(expected, PeftPatterns.Key(new[] { "q_proj", @"layers\.0\.v_proj", "v_proj", "model.q_proj" }.Where(k => k != "model.q_proj" || module == "model.q_proj"), module));

    [Theory]
    [InlineData("model.q_proj", "proj")]       // "proj" is not a whole trailing name: "(.*\.)?(proj)$" fails
    [InlineData("model.qq_proj", "q_proj")]
    public void Key_PartialNameDoesNotMatch(string module, string key) => Assert.Null(PeftPatterns.Key(new[] { key }, module));

    [Fact]
    public void Apply_RankAndAlphaPattern_GiveEachLayerItsRankAndScaling()
    {
        using var model = new TinyStack();
        var options = new LoRAOptions { R = 4, Alpha = 8 };
        options.RankPattern[@"layers\.0\.v_proj"] = 2; // first key in insertion order wins for layers.0.v_proj
        options.RankPattern["v_proj"] = 6;
        options.AlphaPattern["q_proj"] = 2;
        new LoRAAdapter(options).Apply(model);

        Dictionary<string, LoRALinear> layers = LoRA.Layers(model).ToDictionary(l => l.Name, l => l.Layer);
        // By hand: q_proj r 4, alpha 2 -> 0.5; layers.0.v_proj r 2, alpha 8 -> 4; other v_proj r 6, alpha 8 -> 4/3.
        Assert.Equal(new long[] { 4, 8 }, layers["model.layers.1.q_proj"].A("default").shape);
        Assert.Equal(0.5, layers["model.layers.1.q_proj"].Scaling("default"));
        Assert.Equal(new long[] { 2, 8 }, layers["model.layers.0.v_proj"].A("default").shape);
        Assert.Equal(4.0, layers["model.layers.0.v_proj"].Scaling("default"));
        Assert.Equal(new long[] { 8, 6 }, layers["model.layers.2.v_proj"].B("default").shape);
        Assert.Equal(8.0 / 6, layers["model.layers.2.v_proj"].Scaling("default"), 15);
    }

    [Theory]
    [InlineData(null, new[] { "model.layers.1.q_proj", "model.layers.1.v_proj" })]
    [InlineData("layers", new[] { "model.layers.1.q_proj", "model.layers.1.v_proj" })]
    public void Apply_LayersToTransform_AdaptsOnlyThoseBlocks(string? pattern, string[] expected)
    {
        using var model = new TinyStack();
        var options = new LoRAOptions { LayersToTransform = { 1 } };
        if (pattern is not null) options.LayersPattern.Add(pattern);
        new LoRAAdapter(options).Apply(model);
        Assert.Equal(expected, LoRA.Layers(model).Select(l => l.Name).ToArray());
    }

    [Fact]
    public void Apply_LayersPatternNamingNoList_NothingMatches()
    {
        using var model = new TinyStack();
        var ex = Assert.Throws<InvalidConfigurationException>(() =>
            new LoRAAdapter(new LoRAOptions { LayersToTransform = { 1 }, LayersPattern = { "h" } }).Apply(model));
        Assert.Contains("No linear layer matches", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BadPatterns_ReportEveryProblem()
    {
        using var model = new TinyStack();
        var options = new LoRAOptions { Targets = LoRATargets.Regex(@"model\.layers\.\d\.q_proj"), LayersToTransform = { 0 } };
        options.RankPattern["v_("] = 2;
        options.AlphaPattern["q_proj"] = -1;
        var problems = new LoRAAdapter(options).Validate(model).ToList();
        Assert.Contains(problems, p => p.Contains("rank_pattern key \"v_(\"", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("alpha_pattern[\"q_proj\"]", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("layers_to_transform cannot be used with a regex", StringComparison.Ordinal));
        Assert.Contains(new LoRAAdapter(new LoRAOptions { LayersPattern = { "layers" } }).Validate(model),
            p => p.Contains("layers_pattern is set but layers_to_transform is empty", StringComparison.Ordinal));
    }

    [Fact]
    public void SaveLoad_PatternsLayersAndExclusions_WrittenAsPeftAndRoundTrip()
    {
        using var scope = NewDisposeScope();
        using var model = new TinyStack();
        var options = new LoRAOptions { R = 4, Alpha = 8, Targets = LoRATargets.AllLinear.Except("v_proj"), LayersToTransform = { 0, 2 }, LayersPattern = { "layers" } };
        options.RankPattern[@"layers\.2\.q_proj"] = 2;
        options.AlphaPattern["q_proj"] = 16;
        new LoRAAdapter(options).Apply(model);
        AdapterContractTests.Perturb(model, 3);
        model.eval();
        Tensor x = linspace(-1, 1, 16).reshape(2, 8);
        Tensor expected = model.call(x);
        PeftAdapter.Save(model, _dir.Path);

        JsonObject json = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir.Path, PeftAdapterConfig.FileName)))!.AsObject();
        Assert.Equal("{\"layers\\\\.2\\\\.q_proj\":2}", json["rank_pattern"]!.ToJsonString());
        Assert.Equal("{\"q_proj\":16}", json["alpha_pattern"]!.ToJsonString());
        Assert.Equal("[0,2]", json["layers_to_transform"]!.ToJsonString());
        Assert.Equal("\"layers\"", json["layers_pattern"]!.ToJsonString());
        Assert.Equal("[\"v_proj\"]", json["exclude_modules"]!.ToJsonString());
        Assert.Equal("[\"q_proj\"]", json["target_modules"]!.ToJsonString());

        using var fresh = new TinyStack();
        PeftAdapter.Load(fresh, _dir.Path);
        fresh.eval();
        Assert.Equal(new[] { "model.layers.0.q_proj", "model.layers.2.q_proj" }, LoRA.Layers(fresh).Select(l => l.Name).ToArray());
        Assert.True(fresh.call(x).allclose(expected, rtol: 0, atol: 0));
        string again = Path.Combine(_dir.Path, "again");
        PeftAdapter.Save(fresh, again);
        Assert.Equal(File.ReadAllText(Path.Combine(_dir.Path, PeftAdapterConfig.FileName)), File.ReadAllText(Path.Combine(again, PeftAdapterConfig.FileName)));
    }

    [Fact]
    public void Read_ConfigAsPeftWritesIt_GivesEveryFeatureField()
    {
        string path = Path.Combine(_dir.Path, PeftAdapterConfig.FileName);
        // Fields as PEFT 0.1x writes them (an int layers_to_transform, a regex exclude_modules, an empty loftq_config, and fields we ignore).
        File.WriteAllText(path, """
            {"alpha_pattern": {"v_proj": 32}, "auto_mapping": null, "base_model_name_or_path": "m", "bias": "none",
             "exclude_modules": ".*\\.0\\..*", "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": "pissa_niter_4",
             "layer_replication": null, "layers_pattern": ["layers"], "layers_to_transform": 1, "loftq_config": {},
             "lora_alpha": 16, "lora_bias": false, "lora_dropout": 0.05, "megatron_config": null, "modules_to_save": null,
             "peft_type": "LORA", "r": 8, "rank_pattern": {"q_proj": 4, "layers\\.1\\.v_proj": 2}, "revision": null,
             "target_modules": ["q_proj", "v_proj"], "task_type": "CAUSAL_LM", "use_dora": false, "use_rslora": false}
            """);
        PeftAdapterConfig config = PeftAdapterConfig.Read(path);
        Assert.Equal(new[] { ("q_proj", 4), (@"layers\.1\.v_proj", 2) }, config.RankPattern.Select(p => (p.Key, p.Value)).ToArray());
        Assert.Equal(32.0, config.AlphaPattern["v_proj"]);
        Assert.Equal(new[] { 1 }, config.LayersToTransform);
        Assert.Equal(new[] { "layers" }, config.LayersPattern);
        Assert.True(config.ExcludeModules!.IsRegex);
        Assert.True(config.ExcludeModules.Matches("model.layers.0.q_proj"));
        Assert.False(config.ExcludeModules.Matches("model.layers.1.q_proj"));
        Assert.Equal(LoRAInit.PiSSAFast(4), config.InitLoraWeights);
        Assert.Null(config.LoftQBits);
    }

    [Theory]
    [InlineData("\"rank_pattern\": {\"q_proj\": \"x\"}", "rank_pattern.q_proj")]
    [InlineData("\"alpha_pattern\": {\"q_proj\": 0}", "alpha_pattern.q_proj")]
    [InlineData("\"layers_to_transform\": [0, -1]", "layers_to_transform[1]")]
    [InlineData("\"init_lora_weights\": \"eva\"", "not supported yet")]
    [InlineData("\"exclude_modules\": 3", "exclude_modules")]
    public void Read_BadFeatureField_NamesTheField(string field, string expected)
    {
        string path = Path.Combine(_dir.Path, PeftAdapterConfig.FileName);
        File.WriteAllText(path, "{\"peft_type\": \"LORA\", \"r\": 4, " + field + "}");
        var ex = Assert.Throws<AdapterFormatException>(() => PeftAdapterConfig.Read(path));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }
}
