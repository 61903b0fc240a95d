// A consumer of the FineTuning packages, built by .ci/checks/consumer-app.sh outside the repository from the packed
// packages alone (the README's `dotnet add package` lines): LoRA-fine-tunes stories260K when FINETUNING_MODELS_DIR
// holds it, else a tiny random LLaMA with a character tokenizer, checks that the loss fell, generates, and checks that
// WithReport (FineTuning.Reporting) wrote the HTML report with its charts.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning;
using FineTuning.Generation;
using FineTuning.Lora;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Reporting;
using FineTuning.Training;
using TorchSharp;

FineTuningRuntime.EnsureLoaded(); // before the first direct TorchSharp call
torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
string? modelsDir = Environment.GetEnvironmentVariable("FINETUNING_MODELS_DIR");
string? checkpoint = modelsDir is null ? null : Path.Combine(modelsDir, "stories260K", "stories260K.bin");

LlamaForCausalLM model;
ITokenizer tokenizer;
if (checkpoint is not null && File.Exists(checkpoint))
{
    model = Llama2CCheckpoint.Load(checkpoint);
    tokenizer = Llama2CTokenizer.Load(Path.Combine(modelsDir!, "stories260K", "tok512.bin"), model.Config.VocabSize);
    Console.WriteLine($"model: stories260K ({model.parameters().Sum(p => p.numel())} parameters)");
}
else
{
    torch.manual_seed(0);
    tokenizer = new CharTokenizer();
    model = new LlamaForCausalLM(new LlamaConfig
    {
        HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
        VocabSize = tokenizer.VocabSize, MaxPositionEmbeddings = 128,
    });
    Console.WriteLine("model: tiny random LLaMA (set FINETUNING_MODELS_DIR for stories260K)");
}

string[] stories =
{
    "Tom found a blue kite. He ran to the hill and the kite flew high.",
    "Tom found a small cat. He gave it milk and the cat was happy.",
    "Tom found a red ball. He threw it to his dog and the dog ran fast.",
    "Tom found a big box. He sat in it and played that it was a boat.",
};
List<TokenSequence> data = stories.Select(s => tokenizer.Encode(s, addBos: true).Select(i => (long)i).ToList())
    .Select(ids => new TokenSequence(ids, ids)).ToList();

var generator = new TextGenerator(model, tokenizer);
var greedy = new GenerationOptions { MaxNewTokens = 24 };
const string prompt = "Tom found a";
model.eval();
string before = generator.Generate(prompt, greedy);
string reportDir = Path.Combine(Environment.CurrentDirectory, "report");

using TrainingRun run = FineTuner.For(model)
    .WithLoRA(r: 8, alpha: 16, targets: LoRATargets.AllLinear)
    .WithOptions(o => { o.Epochs = 8; o.BatchSize = 4; o.LearningRate = 1e-2; o.LogEverySteps = 0; o.Seed = 1; })
    .WithReport(reportDir, new TrainingReportOptions { ChartWidth = 400, ChartHeight = 250 })
    .Train(data);
model.eval();
string after = generator.Generate(prompt, greedy);

double first = run.History[0].Loss, last = run.History[^1].Loss;
Console.WriteLine($"LoRA: {LoRA.Summary(model)}");
Console.WriteLine($"loss over {run.History.Count} steps: {first:F3} -> {last:F3}");
Console.WriteLine($"before: {prompt}{before}");
Console.WriteLine($"after:  {prompt}{after}");
if (!(last < first))
{
    Console.Error.WriteLine("FAILED: the training loss did not fall");
    return 1;
}

if (after.Length == 0)
{
    Console.Error.WriteLine("FAILED: generation produced no text");
    return 1;
}

string page = Path.Combine(reportDir, "report.html");
string html = File.Exists(page) ? File.ReadAllText(page) : "";
int charts = html.Split("<img src=\"data:image/png;base64,").Length - 1;
Console.WriteLine($"report: {page} ({html.Length} characters, {charts} embedded charts)");
if (charts == 0 || !File.Exists(Path.Combine(reportDir, "loss.png")))
{
    Console.Error.WriteLine("FAILED: WithReport did not write report.html with its charts and loss.png");
    return 1;
}

Console.WriteLine("consumer app: OK");
return 0;

/// <summary>One id per character of a small alphabet (0 padding, 1 BOS, 2 EOS); other characters are dropped.</summary>
internal sealed class CharTokenizer : ITokenizer
{
    private const string Alphabet = " abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,!?'";

    public int VocabSize => Alphabet.Length + 3;

    public int BosId => 1;

    public int EosId => 2;

    public IReadOnlyList<int> Encode(string text, bool addBos) =>
        (addBos ? new[] { BosId } : Array.Empty<int>()).Concat(text.Where(c => Alphabet.Contains(c)).Select(c => Alphabet.IndexOf(c) + 3)).ToList();

    public string Decode(IEnumerable<int> ids) => new(ids.Where(i => i >= 3 && i < VocabSize).Select(i => Alphabet[i - 3]).ToArray());
}
