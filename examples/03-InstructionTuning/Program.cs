// Instruction tuning on a real pretrained model: teach stories260K (Karpathy's tinyllamas, LLaMA architecture)
// a fixed format, "Title: {Name} and the {Thing}" on the first line of every story it is asked for, with LoRA,
// packed sequences and 10% replay of general text. Prints, before and after, how often held-out requests get
// a title line, and the perplexity on handwritten held-out stories (the forgetting check).
// Needs FINETUNING_MODELS_DIR pointing at a folder containing stories260K/. `--full` fine-tunes all weights instead of
// LoRA; `--build-data` rewrites data/*.jsonl.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using FineTuning;
using FineTuning.Data;
using FineTuning.Data.Templates;
using FineTuning.Examples;
using FineTuning.Examples.InstructionTuning;
using FineTuning.Generation;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Training;
using TorchSharp;

torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
string? root = Environment.GetEnvironmentVariable("FINETUNING_MODELS_DIR");
string modelDir = Path.Combine(root ?? string.Empty, "stories260K");
if (string.IsNullOrEmpty(root) || !File.Exists(Path.Combine(modelDir, "stories260K.bin")))
{
    Console.Error.WriteLine("Set FINETUNING_MODELS_DIR to a folder containing stories260K/stories260K.bin and tok512.bin.");
    return 1;
}

using LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(modelDir, "stories260K.bin"));
Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(modelDir, "tok512.bin"), model.Config.VocabSize);

if (args.Contains("--build-data"))
{
    string target = Path.Combine(Directory.GetCurrentDirectory(), "data");
    StoryData.Build(model, tokenizer, target);
    Console.WriteLine($"wrote {target}/title-stories.jsonl and general-stories.jsonl");
    return 0;
}

string data = Path.Combine(AppContext.BaseDirectory, "data");
var skipped = new List<SkippedRecord>();
List<ChatExample> chats = DataReader.Read(Path.Combine(data, "title-stories.jsonl"), RecordFormats.OpenAIChat, MalformedRecordPolicy.SkipAndReport, skipped).ToList();
foreach (SkippedRecord s in skipped) Console.WriteLine($"skipped: {s}");

// stories260K knows no chat markup: a plain-text template. The answer and the EOS after it are learned.
var template = new CustomChatTemplate { Name = "Request/Story", UserPrefix = "Request: ", UserSuffix = "\n", AssistantPrefix = "", AssistantSuffix = "" };
var labeler = new ChatLabeler(template, tokenizer, new LabelingOptions { MaxLength = 256 });
Console.WriteLine("Validation report:");
Console.WriteLine(DataValidator.Validate(chats, labeler, contextLength: model.Config.MaxPositionEmbeddings));

DatasetSplit<ChatExample> split = Datasets.Split(chats, validationFraction: 0.2, seed: 1);
LabelingResult train = labeler.Label(split.Train);
IReadOnlyList<TokenSequence> general = labeler.LabelTexts(DataReader.Read(Path.Combine(data, "general-stories.jsonl"), RecordFormats.Text).Select(t => t.Text)).Sequences;
IReadOnlyList<TokenSequence> mixed = Datasets.Mix(train.Sequences, general, replayFraction: 0.1, seed: 2);
List<PackedSequence> rows = SequencePacker.Pack(mixed, maxLength: 256).ToList();
IReadOnlyList<TokenSequence> heldOutText = labeler.LabelTexts(DataReader.Read(Path.Combine(data, "heldout-stories.jsonl"), RecordFormats.Text).Select(t => t.Text)).Sequences;
Console.WriteLine($"{split.Train.Count} training conversations ({train.Dropped.Count} dropped, {train.Truncated} truncated) + {mixed.Count - train.Sequences.Count} replayed stories " +
                  $"packed into {rows.Count} rows of <= 256 tokens; {split.Validation.Count} held-out requests.");
Console.WriteLine();

(double formatBefore, double titleBefore, string sampleBefore) = FollowRate();
double perplexityBefore = Perplexity();
Console.WriteLine($"Before: {formatBefore:P0} of held-out requests start with a title line ({titleBefore:P0} with the exact title); held-out story perplexity {perplexityBefore:F2}");
Console.WriteLine($"  e.g. {sampleBefore}");
Console.WriteLine();

// LoRA by default; `--full` fine-tunes every weight instead (at a lower learning rate).
bool full = args.Contains("--full");
var progress = new ConsoleProgress();
FineTuner<PackedSequence> tuner = FineTuner.For(model, new PackedCausalLMObjective());
if (!full) tuner = tuner.WithLoRA(r: 8, alpha: 16);
Console.WriteLine(full ? "Full fine-tuning:" : "LoRA r=8:");
using (TrainingRun run = tuner
           .WithOptions(o =>
           {
               o.Epochs = 6;
               o.BatchSize = 4;
               o.LearningRate = full ? 1e-3 : 5e-3;
               o.WarmupRatio = 0.1;
               o.Schedule = new CosineSchedule();
               o.Seed = 3;
           })
           .WithProgress(progress)
           .Train(rows))
{
    progress.Finish();
    Console.WriteLine($"{run.StepsCompleted} steps in {run.Elapsed.TotalSeconds:F0} s, loss {run.History[0].Loss:F3} -> {run.FinalLoss:F3}");
}

(double formatAfter, double titleAfter, string sampleAfter) = FollowRate();
double perplexityAfter = Perplexity();
Console.WriteLine($"After:  {formatAfter:P0} of held-out requests start with a title line ({titleAfter:P0} with the exact title); held-out story perplexity {perplexityAfter:F2}");
Console.WriteLine($"  e.g. {sampleAfter}");
return 0;

// Greedy answers to the held-out requests, prompted exactly as in training (segment-wise ids + assistant header).
(double Format, double Title, string Sample) FollowRate()
{
    model.eval();
    var generator = new TextGenerator(model, tokenizer);
    var requests = split.Validation.Select(c => new ChatExample(c.Messages.Where(m => m.Role == ChatRole.User))).ToList();
    var prompts = requests.Select(labeler.TokenizePrompt).ToList();
    IReadOnlyList<IReadOnlyList<int>> outputs = generator.GenerateIds(prompts, new GenerationOptions { MaxNewTokens = 24 });
    var texts = outputs.Select(o => tokenizer.Decode(o)).ToList();
    int format = texts.Count(t => Regex.IsMatch(t, @"^Title: [^\n]+\n"));
    int exact = split.Validation.Zip(texts).Count(p => p.Second.StartsWith(p.First.Messages[^1].Content.Split('\n')[0] + "\n", StringComparison.Ordinal));
    string sample = $"\"{requests[0].Messages[0].Content}\" -> \"{texts[0].Replace("\n", "\\n", StringComparison.Ordinal)}...\"";
    return ((double)format / texts.Count, (double)exact / texts.Count, sample);
}

double Perplexity()
{
    model.eval();
    using var scope = torch.NewDisposeScope();
    using var noGrad = torch.no_grad();
    var objective = new CausalLMObjective();
    double summed = objective.SummedLoss(model, heldOutText, torch.CPU).item<float>();
    return Math.Exp(summed / objective.CountTargets(heldOutText));
}
