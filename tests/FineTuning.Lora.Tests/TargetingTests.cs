using System;
using System.Linq;
using FineTuning.Training;
using Xunit;

namespace FineTuning.Lora.Tests;

public sealed class TargetingTests
{
    private static string[] Targets(LoRATargets targets, params string[] modulesToSave)
    {
        using var model = new TinyBlock();
        var options = new LoRAOptions { Targets = targets };
        foreach (string m in modulesToSave) options.ModulesToSave.Add(m);
        new LoRAAdapter(options).Apply(model);
        return LoRA.Layers(model).Select(l => l.Name).ToArray();
    }

    [Fact]
    public void AllLinear_ExcludesTheOutputHead() =>
        Assert.Equal(new[] { "model.q_proj", "model.v_proj" }, Targets(LoRATargets.AllLinear));

    [Fact]
    public void Names_MatchSuffixesAndFullNames()
    {
        Assert.Equal(new[] { "model.q_proj" }, Targets(LoRATargets.Names("q_proj")));
        Assert.Equal(new[] { "model.v_proj" }, Targets(LoRATargets.Names("model.v_proj")));
        Assert.Equal(new[] { "classifier" }, Targets(LoRATargets.Names("classifier")));
    }

    [Fact]
    public void Regex_MatchesWholeName_AndExceptRemoves()
    {
        Assert.Equal(new[] { "model.q_proj", "model.v_proj" }, Targets(LoRATargets.Regex(@"model\.[qv]_proj")));
        Assert.Empty(LoRA.Layers(new TinyBlock())); // sanity: a fresh model has none
        Assert.Equal(new[] { "model.v_proj" }, Targets(LoRATargets.AllLinear.Except("q_proj")));
    }

    [Fact]
    public void ModulesToSave_TrainsTheHeadFully()
    {
        using var model = new TinyBlock();
        var options = new LoRAOptions();
        options.ModulesToSave.Add("classifier");
        new LoRAAdapter(options).Apply(model);
        Assert.All(model.named_parameters().Where(p => p.name.StartsWith("classifier.", StringComparison.Ordinal)), p => Assert.True(p.parameter.requires_grad));
        // base: q_proj 72 + v_proj 72 + norm 16 + classifier 27 = 187; LoRA r=8: 2 layers x (64 + 64) = 256.
        Assert.Equal("trainable params: 283 || all params: 443 || trainable%: 63.8826", LoRA.Summary(model).ToString());
    }

    [Fact]
    public void NothingMatches_ErrorListsTheModulesThatExist()
    {
        using var model = new TinyBlock();
        var ex = Assert.Throws<InvalidConfigurationException>(() => new LoRAAdapter(new LoRAOptions { Targets = LoRATargets.Names("k_proj") }).Apply(model));
        Assert.Contains("k_proj", ex.Message, StringComparison.Ordinal);
        Assert.Contains("model.q_proj", ex.Message, StringComparison.Ordinal);
        Assert.Contains("classifier", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SealedLinearField_ClearErrorNamingTheField()
    {
        using var model = new SealedFieldModel();
        var ex = Assert.Throws<InvalidConfigurationException>(() => new LoRAAdapter(new LoRAOptions { Targets = LoRATargets.Names("proj") }).Apply(model));
        Assert.Contains("field \"proj\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Module<Tensor, Tensor>", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadOptions_AreAllReported()
    {
        using var model = new TinyBlock();
        var ex = Assert.Throws<InvalidConfigurationException>(() => new LoRAAdapter(new LoRAOptions { R = 0, Alpha = -1, Dropout = 1, AdapterName = "a.b" }).Apply(model));
        Assert.Equal(4, ex.Problems.Count);
        Assert.Contains(ex.Problems, p => p.Contains("adapter name", StringComparison.Ordinal));
    }
}
