// Out of the lab: fine-tune stories260K (Karpathy's tinyllamas, LLaMA architecture) with LoRA for a few seconds to put a
// "Title: ..." line on top of the stories it is asked for, fold the adapter into the weights (LoRA.MergeAndUnload), save
// a Hugging Face folder that transformers loads (weights, config, generation config, tokenizer.json and
// tokenizer_config.json with the chat template), reload it, check the reloaded model answers token for token the same,
// export GGUF files (F16, Q8_0) that llama.cpp runs (checked here through LLamaSharp), and answer through
// Microsoft.Extensions.AI's IChatClient. Needs FINETUNING_MODELS_DIR pointing at a folder containing
// stories260K/. The merged folder goes to the first argument, or ./stories260K-merged (replaced if it exists).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning;
using FineTuning.Data;
using FineTuning.Data.Templates;
using FineTuning.Examples;
using FineTuning.Examples.ServeAnywhere;
using FineTuning.Extensions.AI;
using FineTuning.Generation;
using FineTuning.Lora;
using FineTuning.Models.Gguf;
using FineTuning.Models.HuggingFace;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Monitoring;
using FineTuning.Training;
using Microsoft.Extensions.AI;
using TorchSharp;

torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
if (TinyStoriesModelFolder.Find() is not string modelDir) return 1;

string output = Path.GetFullPath(args.Length > 0 ? args[0] : "stories260K-merged");
using LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(modelDir, "stories260K.bin"));
Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(modelDir, "tok512.bin"), model.Config.VocabSize);

// 1. Fine-tune: the conversations of examples/03 (request -> story with a title line), LoRA r=8 on every linear layer,
//    30 steps of 8 conversations.
var template = new CustomChatTemplate { Name = "Request/Story", UserPrefix = "Request: ", UserSuffix = "\n", AssistantPrefix = "", AssistantSuffix = "" };
var chats = DataReader.Read(Path.Combine(AppContext.BaseDirectory, "data", "title-stories.jsonl"), RecordFormats.OpenAIChat).ToList();
LabelingResult labeled = new ChatLabeler(template, tokenizer, new LabelingOptions { MaxLength = 128 }).Label(chats);
using (TrainingRun run = FineTuner.For(model)
           .WithLoRA(r: 8, alpha: 16)
           .WithOptions(o => { o.MaxSteps = 30; o.BatchSize = 8; o.LearningRate = 5e-3; o.Seed = 3; })
           .WithProgress(new ConsoleProgressBar())
           .Train(labeled.Sequences))
{
    Console.WriteLine($"LoRA: {labeled.Sequences.Count} conversations, loss {run.History[0].Loss:F3} -> {run.History[^1].Loss:F3} in {run.Elapsed.TotalSeconds:F1} s");
}

model.eval();
FineTuning.Data.ChatMessage[] request = { new(FineTuning.Data.ChatRole.User, "Write a story about Tom and a kite.") };
var greedy = new GenerationOptions { MaxNewTokens = 80 };
string adapted = new TextGenerator(model, tokenizer).Chat(request, template, greedy);

// 2. merge_and_unload: the LoRA layers become plain Linear layers again (the original architecture).
LoRA.MergeAndUnload(model);
string merged = new TextGenerator(model, tokenizer).Chat(request, template, greedy);
Console.WriteLine($"Merged: {LoRA.Layers(model).Count} LoRA layers left; greedy answer {(merged == adapted ? "identical to" : "DIFFERS from")} the adapter model's.");

// 3. A Hugging Face folder: weights, config.json, generation_config.json, tokenizer.json (converted from tok512.bin)
//    and tokenizer_config.json with the chat template in Jinja (what transformers' apply_chat_template renders; the
//    tokenizer adds the BOS token itself).
const string Jinja = "{% for message in messages %}{% if message['role'] == 'user' %}{{ 'Request: ' + message['content'] + '\\n' }}" +
                     "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}";
HfCheckpoint.Save(model, output, new HfSaveOptions { Tokenizer = tokenizer, ChatTemplate = Jinja, Overwrite = true });
Console.WriteLine($"Saved {output}:");
foreach (FileInfo file in new DirectoryInfo(output).GetFiles().OrderBy(f => f.Name)) Console.WriteLine($"  {file.Name,-24} {file.Length,10:N0} bytes");

// 4. Reload with the HF loader and the written tokenizer.json: the same greedy tokens.
using LlamaForCausalLM reloaded = HfCheckpoint.Load<LlamaForCausalLM>(output);
HfTokenizer hfTokenizer = HfTokenizer.Load(output);
string again = new TextGenerator(reloaded, hfTokenizer).Chat(request, template, greedy);
Console.WriteLine($"Reloaded: greedy answer {(again == merged ? "identical" : "DIFFERENT")}:");
Console.WriteLine($"  {again.Replace("\n", "\n  ", StringComparison.Ordinal)}");

// 5. GGUF for llama.cpp / LLamaSharp / Ollama / LM Studio: the merged model in F16 and Q8_0 with the tokenizer and the
//    chat template, run by llama.cpp itself (through LLamaSharp) from the same prompt ids, greedy, side by side.
IReadOnlyList<int> promptIds = new ChatLabeler(template, tokenizer, new LabelingOptions { MaxLength = 128 }).TokenizePrompt(new ChatExample(request));
bool f16Agrees = false;
foreach (GgufTensorType type in new[] { GgufTensorType.F16, GgufTensorType.Q8_0 })
{
    string ggufPath = Path.Combine(Path.GetDirectoryName(output)!, $"stories260K-titles-{type}.gguf");
    GgufExportResult gguf = GgufExporter.Save(model, GgufVocabulary.FromLlama2C(tokenizer), ggufPath, new GgufExportOptions { TensorType = type, ChatTemplate = Jinja });
    string llamaCpp = tokenizer.Decode(LlamaCppGreedy.Run(gguf.Path, promptIds, maxNewTokens: greedy.MaxNewTokens, eos: tokenizer.EosId));
    bool same = llamaCpp == merged;
    if (type == GgufTensorType.F16) f16Agrees = same;
    Console.WriteLine($"GGUF {type}: {gguf.Path} ({gguf.FileBytes:N0} bytes); llama.cpp's greedy answer {(same ? "identical to ours" : "differs from ours")}:");
    Console.WriteLine($"  ours:      {merged.Replace("\n", "\n             ", StringComparison.Ordinal)}");
    Console.WriteLine($"  llama.cpp: {llamaCpp.Replace("\n", "\n             ", StringComparison.Ordinal)}");
}

// 6. Behind Microsoft.Extensions.AI: an application written against IChatClient gets the fine-tuned model.
using IChatClient client = new FineTuningChatClient(reloaded, hfTokenizer, template, new FineTuningChatClientOptions { ModelId = "stories260K-titles" });
ChatResponse response = await client.GetResponseAsync("Write a story about Lily and a cat.", new ChatOptions { MaxOutputTokens = 80 });
Console.WriteLine($"IChatClient ({response.ModelId}):");
Console.WriteLine($"  {response.Text.Replace("\n", "\n  ", StringComparison.Ordinal)}");
Console.Write("Streamed, sampled (temperature 0.8, seed 7): ");
await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync("Write a story about Ben and a boat.", new ChatOptions { MaxOutputTokens = 60, Temperature = 0.8f, Seed = 7 }))
{
    Console.Write(update.Text);
}

Console.WriteLine();
// F16 must agree token for token; Q8_0 rounds the weights, so it may differ after a near-tie (docs/export-gguf.md).
return merged == adapted && again == merged && f16Agrees ? 0 : 2;
