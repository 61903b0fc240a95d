using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Lora;
using FineTuning.Lora.Peft;
using FineTuning.Models.Llama;
using FineTuning.Models.SafeTensors;
using FineTuning.Rlhf.Rewards;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Tests;

public sealed class LlamaRewardHeadTests
{
    private static LlamaForSequenceClassification RewardModel(ulong seed = 11)
    {
        using var g = new Generator(3);
        return new LlamaForSequenceClassification(PreferenceTrainingTests.TinyLlama(seed), generator: g, std: 0.5);
    }

    /// <summary>score . h[last] in fp64, from the backbone's hidden states of the sequence alone (no padding, no mask).</summary>
    private static (double Score, double Scale) ByHand(LlamaForSequenceClassification model, IReadOnlyList<int> ids)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor hidden = model.Backbone.HiddenStates(tensor(ids.Select(i => (long)i).ToArray(), new long[] { 1, ids.Count }))[0, ids.Count - 1].to(ScalarType.Float64);
        Tensor w = model.named_parameters().Single(p => p.name == "score.weight").parameter[0].to(ScalarType.Float64);
        return (w.mul(hidden).sum().item<double>(), w.abs().mul(hidden.abs()).sum().item<double>());
    }

    [Fact]
    public void Forward_PaddedBatches_ScoreEqualsHeadTimesLastTokenHiddenState()
    {
        using LlamaForSequenceClassification model = RewardModel();
        var sequences = new IReadOnlyList<int>[] { new[] { 1, 5, 6, 7 }, new[] { 1, 9 }, new[] { 1, 3, 4, 5, 6, 8, 20 } };
        double[] rightPadded = RewardScorer.Score(model, sequences);

        // Left padding too: the last real token is the last column, positions start at the first real token.
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int length = sequences.Max(s => s.Count);
        long[] ids = sequences.SelectMany(s => Enumerable.Repeat(0L, length - s.Count).Concat(s.Select(i => (long)i))).ToArray();
        long[] mask = sequences.SelectMany(s => Enumerable.Repeat(0L, length - s.Count).Concat(Enumerable.Repeat(1L, s.Count))).ToArray();
        Tensor input = tensor(ids, new long[] { 3, length });
        double[] leftPadded = model.call(input, tensor(mask, new long[] { 3, length }), zeros_like(input)).squeeze(1).to(ScalarType.Float64).data<double>().ToArray();

        for (int i = 0; i < sequences.Length; i++)
        {
            (double expected, double scale) = ByHand(model, sequences[i]);
            // fp32 sums of 32 products (and of the layers below): a few float epsilons relative to the sum of |w h|.
            double tolerance = 1e-5 * scale;
            Assert.True(Math.Abs(rightPadded[i] - expected) <= tolerance, $"right-padded {i}: {rightPadded[i]} vs {expected}");
            Assert.True(Math.Abs(leftPadded[i] - expected) <= tolerance, $"left-padded {i}: {leftPadded[i]} vs {expected}");
        }
        Assert.Equal(1, model.NumLabels);
    }

    [Fact]
    public void StateDict_HasHuggingFaceNames_AndNoLmHead()
    {
        using LlamaForSequenceClassification model = RewardModel();
        string[] keys = model.state_dict().Keys.ToArray();
        string[] backbone = model.Backbone.state_dict().Keys.Where(k => !k.StartsWith("lm_head", StringComparison.Ordinal)).ToArray();
        Assert.Equal(backbone.Append("score.weight").OrderBy(k => k, StringComparer.Ordinal), keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Contains("model.layers.0.self_attn.q_proj.weight", keys);
        Assert.Equal(new long[] { 1, 32 }, model.state_dict()["score.weight"].shape);
    }

    [Fact]
    public void Forward_BadMask_TypedErrors()
    {
        using LlamaForSequenceClassification model = RewardModel();
        using var scope = NewDisposeScope();
        Tensor ids = tensor(new long[] { 1, 5, 1, 6 }, new long[] { 2, 2 });
        var empty = Assert.Throws<ArgumentException>(() => model.call(ids, tensor(new long[] { 1, 1, 0, 0 }, new long[] { 2, 2 }), zeros_like(ids)));
        Assert.Contains("no token", empty.Message, StringComparison.Ordinal);
        var shape = Assert.Throws<ArgumentException>(() => model.call(ids, ones(2, 3, ScalarType.Int64), zeros_like(ids)));
        Assert.Contains("attention_mask [2, 3]", shape.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LlamaForSequenceClassification(PreferenceTrainingTests.TinyLlama(), numLabels: 0));
    }

    /// <summary>Texts containing token 7 ('e') are preferred; tokens 8..40 otherwise, after BOS.</summary>
    internal static List<RewardPair> ContainsSeven(int count, int seed)
    {
        var random = new Random(seed);
        int[] Text(bool seven)
        {
            int[] t = Enumerable.Range(0, 7).Select(i => i == 0 ? 1 : random.Next(8, 40)).ToArray();
            if (seven) t[1 + random.Next(6)] = 7;
            return t;
        }
        return Enumerable.Range(0, count).Select(_ => new RewardPair(Text(true), Text(false))).ToList();
    }

    [Fact]
    public void BradleyTerry_WithLoRAAndScoreSaved_LearnsHeldOutPreference_AndSavesAPeftSeqClsAdapter()
    {
        using LlamaForSequenceClassification model = RewardModel();
        List<RewardPair> train = ContainsSeven(64, seed: 1), heldOut = ContainsSeven(48, seed: 2);
        (double beforeAccuracy, double beforeMargin) = BradleyTerryObjective.Evaluate(model, heldOut);

        using TrainingRun run = FineTuner.For(model, new BradleyTerryObjective())
            .WithLoRA(new LoRAOptions { R = 4, Alpha = 8, ModulesToSave = { "score" } })
            .WithOptions(o => { o.Epochs = 8; o.BatchSize = 16; o.LearningRate = 3e-2; o.Seed = 3; })
            .Train(train);

        (double accuracy, double margin) = BradleyTerryObjective.Evaluate(model, heldOut);
        // Chance is 50 % with a binomial std of 7 points on 48 pairs: 80 % is over 4 std above it.
        Assert.True(accuracy >= 0.8, $"held-out accuracy {beforeAccuracy:P0} -> {accuracy:P0} (margin {beforeMargin:F3} -> {margin:F3})");
        Assert.True(margin > beforeMargin + 0.5, $"held-out mean margin {beforeMargin:F3} -> {margin:F3}");

        using var temp = new TempDirectory("llama-rm");
        string dir = temp.Path;
        run.SaveAdapter(dir);
        JsonNode config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "adapter_config.json")))!;
        Assert.Equal("SEQ_CLS", (string?)config["task_type"]);
        Assert.Equal(new[] { "score" }, config["modules_to_save"]!.AsArray().Select(n => (string?)n));
        using (SafeTensorsReader weights = SafeTensorsReader.Open(Path.Combine(dir, PeftAdapter.WeightsFileName)))
        {
            string[] names = weights.Tensors.Select(t => t.Name).ToArray();
            Assert.Contains("base_model.model.score.weight", names);
            Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", names);
        }

        // Loaded onto a fresh copy of the base, the adapter and head reproduce the trained model's rewards.
        using LlamaForSequenceClassification fresh = RewardModel();
        PeftAdapter.Load(fresh, dir);
        IReadOnlyList<int>[] texts = heldOut.Take(8).SelectMany(p => new[] { p.ChosenIds, p.RejectedIds }).ToArray();
        double[] expected = RewardScorer.Score(model, texts), actual = RewardScorer.Score(fresh, texts);
        for (int i = 0; i < texts.Length; i++) Assert.Equal(expected[i], actual[i], 5);
    }

    [Fact]
    public async System.Threading.Tasks.Task RewardModelReward_WithLlamaHead_ScoresPromptPlusCompletion()
    {
        using LlamaForSequenceClassification model = RewardModel();
        var tokenizer = new CharTokenizer();
        var reward = new RewardModelReward(model, (p, c) => tokenizer.Encode(p + c, addBos: true), batchSize: 2);
        string[] prompts = { "ab", "cde", "f" }, completions = { "xyz", "q", "hello" };
        IReadOnlyList<double> scores = await reward.ScoreAsync(prompts, completions, default);
        for (int i = 0; i < 3; i++)
        {
            (double expected, double scale) = ByHand(model, tokenizer.Encode(prompts[i] + completions[i], addBos: true));
            Assert.True(Math.Abs(scores[i] - expected) <= 1e-5 * scale, $"{i}: {scores[i]} vs {expected}");
        }
    }
}
