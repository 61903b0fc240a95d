using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.Data;
using FineTuning.Generation;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Sft;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;

namespace FineTuning.Lora.Tests.TrainableTokens;

/// <summary>
/// The case of issue #15 on the real stories260K: 50 prompt/completion examples whose completions end with "The end."
/// and EOS. EOS never occurs in stories260K's pretraining, so its (tied) embedding row sits among ~230 untrained rows;
/// LoRA alone cannot raise its logit, LoRA + trainable tokens [EOS] can.
/// </summary>
public sealed class LearnToStopTests : IDisposable
{
    private static readonly string[] Names = { "Lily", "Tom", "Sue", "Ben", "Mia", "Max", "Anna", "Sam", "Lucy", "Tim" };
    private static readonly string[] Things = { "ball", "dog", "cat", "kite", "cake" };

    private readonly TempDirectory _dir = new("stop");
    private readonly ITestOutputHelper _output;

    public LearnToStopTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    /// <summary>50 prompt/completion records: a one-sentence opening and a short ending that closes with "The end.".</summary>
    internal static string WriteData(string dir)
    {
        string path = Path.Combine(dir, "stop.jsonl");
        using var writer = new StreamWriter(path);
        foreach (string name in Names)
        {
            foreach (string thing in Things)
            {
                string prompt = $"Once upon a time, {name} had a {thing}.";
                string completion = $" {name} played with the {thing} all day. {name} was very happy. The end.";
                writer.WriteLine(JsonSerializer.Serialize(new { prompt, completion }));
            }
        }
        return path;
    }

    /// <summary>Greedy replies to the held-out prompts that end with "The end." and then stop at EOS (not at the length limit).</summary>
    private (SftRun Run, int Stopped) TrainAndTry(LlamaForCausalLM model, Llama2CTokenizer tokenizer, bool trainableEos)
    {
        SftRun run = FineTuner.ForSft(model, tokenizer)
            .WithLoRA(r: 8, alpha: 16, configure: o => { if (trainableEos) o.TrainableTokenIndices.Add(tokenizer.EosId); })
            .WithSftOptions(o => { o.ValidationFraction = 0.1; o.Seed = 1; })
            .WithOptions(o => { o.Epochs = 4; o.BatchSize = 8; o.LearningRate = 1e-2; o.Seed = 2; })
            .Train(WriteData(_dir.Path));
        model.eval();
        var generator = new TextGenerator(model, tokenizer);
        int stopped = 0;
        foreach (ChatExample held in run.ValidationExamples)
        {
            var usage = new GenerationUsage();
            string reply = string.Concat(generator.ChatStream(new[] { held.Messages[0] }, run.Template, new GenerationOptions { MaxNewTokens = 32 }, usage));
            _output.WriteLine($"{held.Messages[0].Content} ->{reply} [{(usage.ReachedMaxTokens ? "length" : "stop")}]");
            if (!usage.ReachedMaxTokens && reply.EndsWith("The end.", StringComparison.Ordinal)) stopped++;
        }
        return (run, stopped);
    }

    private static (LlamaForCausalLM Model, Llama2CTokenizer Tokenizer) Load()
    {
        string dir = ModelFiles.Stories260K();
        var model = Llama2CCheckpoint.Load(Path.Combine(dir, "stories260K.bin"));
        return (model, Llama2CTokenizer.Load(Path.Combine(dir, "tok512.bin"), model.Config.VocabSize));
    }

    [SkippableFact]
    [Trait("Category", "Slow")] // 24 steps + 5 greedy replies on the real model: ~44 s of CPU time on the loaded 2-core machine
    public void ForSft_LoRAWithTrainableEos_LearnsToStop_OnlyEosRowChanges()
    {
        (LlamaForCausalLM model, Llama2CTokenizer tokenizer) = Load();
        using (model)
        {
            using torch.Tensor embedding = model.named_parameters().Single(p => p.name == "model.embed_tokens.weight").parameter.detach().clone();

            (SftRun run, int stopped) = TrainAndTry(model, tokenizer, trainableEos: true);
            using (run)
            {
                Assert.Equal(SftDataFormat.PromptCompletion, run.Format);
                Assert.Equal(5, run.ValidationExamples.Count);
                Assert.Equal(new[] { tokenizer.EosId }, run.UntrainedTokens.Select(u => u.Id)); // seen before training ...
                Assert.DoesNotContain(run.Warnings, w => w.Code == "untrained_token"); // ... and trained by the run
                Assert.Equal(run.ValidationExamples.Count, stopped);
                using (torch.no_grad())
                using (torch.Tensor effective = Lora.TrainableTokens.TrainableTokenWrappers.Wrappers(model).Single().Wrapper.EffectiveWeight())
                    Assert.Equal(new long[] { tokenizer.EosId }, embedding.ne(effective).any(1).nonzero().flatten().data<long>().ToArray());
            }
        }
    }

    [SkippableFact]
    [Trait("Category", "Slow")]
    public void ForSft_LoRAAlone_NeverStops_WarnsUntrainedEos()
    {
        (LlamaForCausalLM model, Llama2CTokenizer tokenizer) = Load();
        using (model)
        {
            (SftRun run, int stopped) = TrainAndTry(model, tokenizer, trainableEos: false);
            using (run)
            {
                Assert.Equal(0, stopped);
                TrainingWarning warning = Assert.Single(run.Warnings, w => w.Code == "untrained_token");
                Assert.Contains("TrainableTokenIndices = [2]", warning.Message, StringComparison.Ordinal);
                Assert.Equal(run.Training.StepsCompleted, warning.Step);
            }
        }
    }
}
