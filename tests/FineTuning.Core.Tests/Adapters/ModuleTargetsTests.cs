using System;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using FineTuning.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using TorchSharp.Modules;
using Xunit;

namespace FineTuning.Core.Tests.Adapters;

public sealed class ModuleTargetsTests
{
    private static readonly string[] Universe =
    {
        "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj", "model.layers.1.self_attn.q_proj",
        "model.layers.1.mlp.down_proj", "lm_head", "classifier", "q_proj", "model.qq_proj", "encoder.layer.0.output.dense",
    };

    [Fact]
    public void Names_MatchExactOrDotSuffix_NotPartialSegments()
    {
        ModuleTargets t = ModuleTargets.Names("q_proj", "output.dense");
        Assert.Equal(new[] { "model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj", "q_proj", "encoder.layer.0.output.dense" },
            Universe.Where(t.Matches));
    }

    [Fact]
    public void Regex_MatchesWholeName_AllLinearSkipsHeads_ExceptRemoves()
    {
        Assert.Equal(new[] { "model.layers.1.self_attn.q_proj", "model.layers.1.mlp.down_proj" }, Universe.Where(ModuleTargets.Regex(@"model\.layers\.1\..*").Matches));
        Assert.DoesNotContain(Universe, ModuleTargets.Regex("layers").Matches); // a full match, as PEFT's re.fullmatch
        Assert.DoesNotContain("lm_head", Universe.Where(ModuleTargets.AllLinear.Matches));
        Assert.DoesNotContain("classifier", Universe.Where(ModuleTargets.AllLinear.Matches));
        Assert.Equal(new[] { "model.layers.0.self_attn.k_proj", "model.layers.1.mlp.down_proj", "model.qq_proj", "encoder.layer.0.output.dense" },
            Universe.Where(ModuleTargets.AllLinear.Except("q_proj").Matches));
        Assert.Equal(new[] { "model.layers.0.self_attn.k_proj", "model.qq_proj", "encoder.layer.0.output.dense" },
            Universe.Where(ModuleTargets.AllLinear.Except("q_proj").Except("down_proj").Matches));
    }

    [Fact]
    public void Find_SkipsWhatACandidateWraps_AndSeesChildrenOfTheRoot()
    {
        using Mlp model = TinyModels.Mlp(2, 3, 2, seed: 1);
        Assert.Equal(new[] { "fc1", "fc2" }, ModuleTargets.AllLinear.Find(model, m => m is Linear).Select(t => t.Name));
        Assert.Equal(new[] { "fc2" }, ModuleTargets.Names("fc2").Find(model, m => m is Linear).Select(t => t.ChildName));
        Assert.Same(model, ModuleTargets.Names("fc2").Find(model, m => m is Linear)[0].Parent);
    }

    /// <summary>Any targets written to a config and read back select the same modules.</summary>
    [Property(MaxTest = 100)]
    public Property WriteThenRead_SelectsTheSameModules(byte includeMask, byte excludeMask, bool regex, bool allLinear)
    {
        string[] leaves = { "q_proj", "k_proj", "down_proj", "dense", "lm_head" };
        string[] included = leaves.Where((_, i) => (includeMask & (1 << i)) != 0).ToArray();
        string[] excluded = leaves.Where((_, i) => (excludeMask & (1 << i)) != 0).ToArray();
        ModuleTargets targets = allLinear ? ModuleTargets.AllLinear
            : regex ? ModuleTargets.Regex(".*(" + string.Join("|", included.DefaultIfEmpty("none")) + ")")
            : ModuleTargets.Names(included.DefaultIfEmpty("none").ToArray());
        if (excluded.Length > 0) targets = targets.Except(excluded);
        var config = new JsonObject();
        targets.WriteTo(config);
        ModuleTargets read = ModuleTargets.ReadFrom(JsonNode.Parse(config.ToJsonString())!.AsObject(), "adapter_config.json");
        return Universe.All(n => read.Matches(n) == targets.Matches(n)).Label(config.ToJsonString());
    }

    [Theory]
    [InlineData("{}", "\"target_modules\" is missing")]
    [InlineData("{\"target_modules\": 3}", "\"target_modules\" must be")]
    [InlineData("{\"target_modules\": []}", "\"target_modules\" must be")]
    [InlineData("{\"target_modules\": [\"q_proj\", null]}", "\"target_modules\" must be")]
    [InlineData("{\"target_modules\": \"(unclosed\"}", "\"target_modules\" is not a valid regular expression")]
    [InlineData("{\"target_modules\": [\"q_proj\"], \"exclude_modules\": {}}", "\"exclude_modules\" must be")]
    public void ReadFrom_BadValue_ThrowsNamingFileAndKey(string json, string expected)
    {
        var ex = Assert.Throws<AdapterFileException>(() => ModuleTargets.ReadFrom(JsonNode.Parse(json)!.AsObject(), "dir/adapter_config.json"));
        Assert.StartsWith("dir/adapter_config.json: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Equal("dir/adapter_config.json", ex.FilePath);
    }
}
