// A .NET 10 file-based app (`dotnet run app.cs`) that uses the FineTuning packages: .ci/checks/consumer-app.sh puts the
// `#:package` lines on top and runs it outside the repository. File-based apps turn reflection-based JSON off
// (JsonSerializerIsReflectionEnabledByDefault=false, as trimmed and AOT apps do), so this runs every path of the
// library that reads or writes a JSON file: a training checkpoint and its resume, a PEFT adapter saved and loaded,
// a QLoRA adapter's quantization record, and a merged model saved as a Hugging Face folder and loaded back.
using System;
using System.IO;
using System.Linq;
using FineTuning;
using FineTuning.Lora;
using FineTuning.Lora.Peft;
using FineTuning.Models;
using FineTuning.Models.HuggingFace;
using FineTuning.Models.Llama;
using FineTuning.Quantization;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

FineTuningRuntime.EnsureLoaded();
torch.set_num_threads(1);
string work = Path.Combine(Path.GetTempPath(), "finetuning-file-based-" + Environment.ProcessId);
Directory.CreateDirectory(work);
try
{
    var config = new LlamaConfig
    {
        HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
        VocabSize = 40, MaxPositionEmbeddings = 64,
    };
    var random = new Random(3);
    var data = Enumerable.Range(0, 8).Select(_ => TokenSequence.ForLanguageModeling(Enumerable.Range(0, 16).Select(_ => (long)random.Next(40)).ToArray())).ToList();
    using var ids = torch.tensor(data[0].InputIds.ToArray(), new long[] { 1, 16 });
    Tensor Logits(LlamaForCausalLM m) { m.eval(); using var noGrad = torch.no_grad(); return m.call(ids).detach(); }

    // LoRA with checkpoints, then a resumed run, then the PEFT adapter.
    torch.manual_seed(1);
    using var model = new LlamaForCausalLM(config);
    string checkpoints = Path.Combine(work, "checkpoints");
    using (TrainingRun run = FineTuner.For(model).WithLoRA(r: 4, alpha: 8)
        .WithOptions(o => { o.MaxSteps = 4; o.BatchSize = 4; o.LogEverySteps = 0; o.CheckpointDirectory = checkpoints; o.CheckpointEverySteps = 2; })
        .Train(data))
    {
        run.SaveAdapter(Path.Combine(work, "adapter"));
    }

    torch.manual_seed(1);
    using var resumed = new LlamaForCausalLM(config);
    using (TrainingRun run = FineTuner.For(resumed).WithLoRA(r: 4, alpha: 8)
        .WithOptions(o => { o.MaxSteps = 6; o.BatchSize = 4; o.LogEverySteps = 0; })
        .ResumeFrom(checkpoints)
        .Train(data))
    {
        Check(run.History[^1].Step == 6, $"the resumed run continued to step 6 (history ends at step {run.History[^1].Step})");
    }

    torch.manual_seed(1);
    using var reloaded = new LlamaForCausalLM(config);
    PeftAdapter.Load(reloaded, Path.Combine(work, "adapter"));
    using Tensor trained = Logits(model);
    Check(trained.allclose(Logits(reloaded), rtol: 0, atol: 1e-5), "the PEFT adapter reloaded gives the trained logits");

    // Merged into the base and saved as a Hugging Face folder (config.json written and read back).
    LoRA.MergeAndUnload(model);
    HfCheckpoint.Save(model, Path.Combine(work, "merged"));
    using LlamaForCausalLM loaded = HfCheckpoint.Load<LlamaForCausalLM>(Path.Combine(work, "merged"));
    Check(trained.allclose(Logits(loaded), rtol: 0, atol: 1e-4), "the merged Hugging Face folder gives the trained logits");

    // QLoRA: the adapter records its quantized base in quantization_config.json.
    torch.manual_seed(1);
    using var quantized = new LlamaForCausalLM(config);
    using (TrainingRun run = FineTuner.For(quantized).WithQLoRA(new QuantizationOptions { Type = QuantizationType.NF4 }, r: 4, alpha: 8)
        .WithOptions(o => { o.MaxSteps = 2; o.BatchSize = 4; o.LogEverySteps = 0; })
        .Train(data))
    {
        run.SaveAdapter(Path.Combine(work, "qlora-adapter"));
    }

    Check(File.Exists(Path.Combine(work, "qlora-adapter", "adapter_config.json")), "the QLoRA adapter was saved");
    Console.WriteLine("file-based app: OK");
    return 0;
}
finally
{
    Directory.Delete(work, recursive: true);
}

static void Check(bool ok, string what)
{
    if (!ok) throw new InvalidOperationException("FAILED: " + what);
    Console.WriteLine("ok: " + what);
}
