// A custom adapter as a first-class feature: OutputBiasAdapter (OutputBiasAdapter.cs, written against FineTuning.Core's
// public extension points only) is trained on the real stories260K model, saved in PEFT's layout through the generic
// AdapterFiles path, reloaded onto a freshly loaded base, and the reload is checked to give identical logits.
// Usage: FINETUNING_MODELS_DIR=<folder with stories260K/> dotnet run --project examples/07-CustomAdapter -c Release
using System;
using System.IO;
using System.Linq;
using FineTuning;
using FineTuning.Adapters;
using FineTuning.Examples.CustomAdapter;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Training;
using TorchSharp;

torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
string? root = Environment.GetEnvironmentVariable("FINETUNING_MODELS_DIR");
string modelPath = Path.Combine(root ?? string.Empty, "stories260K", "stories260K.bin");
if (string.IsNullOrEmpty(root) || !File.Exists(modelPath))
{
    Console.Error.WriteLine("Set FINETUNING_MODELS_DIR to a folder containing stories260K/stories260K.bin and tok512.bin.");
    return 1;
}

using LlamaForCausalLM model = Llama2CCheckpoint.Load(modelPath);
var tokenizer = Llama2CTokenizer.Load(Path.Combine(root, "stories260K", "tok512.bin"), model.Config.VocabSize);
string[] sentences =
{
    "The purple robot sang a song to the moon.", "The purple robot danced with a happy cat.",
    "The purple robot found a shiny key in the garden.", "The purple robot gave the key to a little bird.",
};
var data = sentences.Select(s => TokenSequence.ForLanguageModeling(tokenizer.Encode(s, addBos: true).Select(t => (long)t).ToArray())).ToList();

// Train only the new output biases of the attention and MLP output projections; everything else stays frozen.
var adapter = new OutputBiasAdapter(ModuleTargets.Names("o_proj", "down_proj"));
double before = FineTuner.For(model).Evaluate(data).Loss;
using TrainingRun run = FineTuner.For(model)
    .WithAdapter(adapter)
    .WithOptions(o => { o.Epochs = 30; o.BatchSize = 4; o.LearningRate = 5e-2; o.Seed = 1; })
    .Train(data);
double after = FineTuner.For(model).Evaluate(data).Loss;
long trainable = model.parameters().Where(p => p.requires_grad).Sum(p => p.numel());
Console.WriteLine($"Trained {trainable} output-bias parameters of {model.parameters().Sum(p => p.numel())}: loss {before:F3} -> {after:F3}");

string adapterDir = Path.Combine(Path.GetTempPath(), "finetuning-custom-adapter");
AdapterFiles.Save(model, adapterDir, adapter); // records base_model_name_or_path and task_type from the loaded model
Console.WriteLine(File.ReadAllText(Path.Combine(adapterDir, AdapterFiles.ConfigFileName)));

using LlamaForCausalLM fresh = Llama2CCheckpoint.Load(modelPath);
AdapterLoadResult loaded = AdapterFiles.Load(fresh, adapterDir, new[] { OutputBiasAdapter.Format });
model.eval();
fresh.eval();
using var scope = torch.NewDisposeScope();
using torch.Tensor input = torch.tensor(data[0].InputIds.ToArray()).unsqueeze(0);
bool identical = model.call(input).equal(fresh.call(input)).all().item<bool>();
Console.WriteLine($"Reloaded {loaded.PeftType} adapter onto a fresh base: logits {(identical ? "identical" : "DIFFERENT")}.");
if (!(after < before)) Console.Error.WriteLine("Training did not lower the loss.");
return identical && after < before ? 0 : 1;
