// Teach stories260K to stop: 50 prompt/completion records whose completions end with "The end." (then EOS), trained
// with one-call SFT. stories260K never saw EOS in pretraining, so its embedding row (tied to the output head) is one of
// ~230 untrained rows: LoRA alone learns the words but can never make EOS likely, and the run warns about it
// (untrained_token). LoRA + trainable tokens (PEFT's trainable_token_indices = [EOS]) trains that one row, and the model
// stops. Prints both runs' held-out replies, then saves the second adapter (PEFT layout) to out/learn-to-stop.
// Needs FINETUNING_MODELS_DIR pointing at a folder containing stories260K/.
using System;
using System.IO;
using System.Linq;
using FineTuning;
using FineTuning.Data;
using FineTuning.Examples;
using FineTuning.Generation;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Sft;
using TorchSharp;

torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
if (TinyStoriesModelFolder.Find() is not string modelDir) return 1;
string data = Path.Combine(AppContext.BaseDirectory, "data", "stop.jsonl");

foreach (bool trainableEos in new[] { false, true })
{
    using LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(modelDir, "stories260K.bin"));
    Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(modelDir, "tok512.bin"), model.Config.VocabSize);
    if (!trainableEos)
    {
        foreach (UntrainedToken u in UntrainedTokens.Find(model, new[] { tokenizer.EosId }))
            Console.WriteLine($"Before training: EOS ({u.Id}) in {u.Module}: {u.Reason}.");
    }

    Console.WriteLine(trainableEos ? "\nLoRA r=8 + trainable tokens [EOS]:" : "\nLoRA r=8 alone:");
    using SftRun run = FineTuner.ForSft(model, tokenizer)
        .WithLoRA(r: 8, alpha: 16, configure: o => { if (trainableEos) o.TrainableTokenIndices.Add(tokenizer.EosId); })
        .WithSftOptions(o => { o.ValidationFraction = 0.1; o.Seed = 1; })
        .WithOptions(o => { o.Epochs = 4; o.BatchSize = 8; o.LearningRate = 1e-2; o.Seed = 2; })
        .Train(data);
    Console.WriteLine($"{run.Format} data, template \"{run.Template.Name}\", {run.Train.Sequences.Count} training / {run.ValidationExamples.Count} held-out examples; " +
                      $"{run.Training.StepsCompleted} steps, validation loss {run.Training.Evaluations[0].Loss:F3} -> {run.Training.Evaluations[^1].Loss:F3}");
    foreach (var w in run.Warnings) Console.WriteLine($"warning {w.Code}: {w.Message}");

    // Train -> try: chat with the template the run used; generation stops at EOS (or after 40 tokens).
    model.eval();
    var generator = new TextGenerator(model, tokenizer);
    int stopped = 0;
    foreach (ChatExample held in run.ValidationExamples)
    {
        var usage = new GenerationUsage();
        string reply = string.Concat(generator.ChatStream(held.Messages.Take(1).ToList(), run.Template, new GenerationOptions { MaxNewTokens = 40 }, usage));
        if (!usage.ReachedMaxTokens) stopped++;
        Console.WriteLine($"  {held.Messages[0].Content} ->{reply.Replace("\n", "\\n", StringComparison.Ordinal)} [{(usage.ReachedMaxTokens ? "40 tokens, no EOS" : "EOS")}]");
    }

    Console.WriteLine($"{stopped} of {run.ValidationExamples.Count} held-out replies end with EOS.");
    if (trainableEos)
    {
        string output = Path.Combine(Directory.GetCurrentDirectory(), "out", "learn-to-stop");
        run.Training.SaveAdapter(output);
        Console.WriteLine($"Adapter (LoRA + trainable_token_indices [{tokenizer.EosId}]) saved to {output}");
    }
}

return 0;
