using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using FineTuning.Benchmarks.Throughput;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Quantization;
using FineTuning.Training;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks.QLoRA;

/// <summary>
/// <c>-- big-memory [--layers 24] [--steps 2] [--warmup 1] [--threads 2] [--configs a,b] [--vocab 32000] [--seq 256] [--trim 10] [--phases] [--out file]</c>
/// (<c>--trim</c>: <c>HeapTrimEverySteps</c>; <c>--phases</c>: each child also prints forward / backward / optimizer
/// times, resident memory and heap, and each phase's own peak; a configuration <c>name:glibc</c> runs with the glibc
/// tunables of docs/benchmarks/hot-paths.md, <c>name:mmap=KiB</c> with glibc's mmap threshold from process start
/// (<c>MALLOC_MMAP_THRESHOLD_</c>), <c>name:lowmem=KiB</c> with <c>TuneNativeAllocator</c> at that threshold): QLoRA's memory
/// where the weights dominate (issue #17, item 7). A synthetic LLaMA (hidden 1024, 16 heads, FF 2816, vocab 32000,
/// 24 layers: 374M parameters), LoRA r = 16 on every projection, gradient checkpointing, batch 1 x 256. Each
/// configuration runs in its own process and reports its resident size after building, its peak (VmHWM) and the median
/// of its timed steps, and every step's own peak (the process's peak is reset after each step through
/// /proc/self/clear_refs, so the first step's one-off costs and the steady state show apart). See docs/benchmarks/qlora-memory.md.
/// </summary>
internal static class BigMemoryCommand
{
    /// <summary>
    /// lora (fp32), lora-bf16, qlora (NF4), qlora-dq (NF4 + double quantization), qlora-head (NF4, lm_head quantized
    /// too), qlora-embed (NF4, lm_head and embed_tokens quantized too), qlora-from-fp32 (the fp32 model first, then WithQLoRA).
    /// </summary>
    private static readonly string[] AllConfigs = ["lora", "lora-bf16", "qlora", "qlora-dq", "qlora-head", "qlora-embed", "qlora-from-fp32"];

    public static int Run(string[] args)
    {
        string Get(string name, string fallback) => Option(args, name) ?? fallback;
        int layers = int.Parse(Get("layers", "24"), CultureInfo.InvariantCulture);
        int vocab = int.Parse(Get("vocab", "32000"), CultureInfo.InvariantCulture), seq = int.Parse(Get("seq", "256"), CultureInfo.InvariantCulture);
        string common = $"--layers {layers} --vocab {vocab} --seq {seq} --steps {Get("steps", "2")} --warmup {Get("warmup", "1")} --threads {Get("threads", "2")} --trim {Get("trim", "10")}" + (args.Contains("--phases") ? " --phases" : string.Empty);
        string[] configs = Get("configs", string.Join(",", AllConfigs)).Split(',');
        // "-load" configurations read the model from a Hugging Face folder, written once by a child of its own (so that the
        // measured processes never held the writer's copy).
        if (configs.Any(c => c.Split(':')[0].EndsWith("-load", StringComparison.Ordinal)))
        {
            string folder = Path.Combine(Path.GetTempPath(), $"ft-big-memory-hf-{layers}-{vocab}-{seq}");
            if (!File.Exists(Path.Combine(folder, "config.json"))) ThroughputCommand.Child($"big-memory-child save-hf --layers {layers} --vocab {vocab} --seq {seq} --folder {folder}", null);
            common += $" --folder {folder}";
        }

        var lines = new List<string>
        {
            $"CPU: {ThroughputCommand.CpuModel()}; {Get("threads", "2")} threads; load at start {ThroughputCommand.Load()}",
            FormattableString.Invariant($"model: hidden 1024, {layers} layers, 16 heads, FF 2816, vocab {vocab}: {BigModel.ParameterCount(BigModel.Config(layers, vocab)):N0} parameters; LoRA r 16 on all 7 projections; batch 1 x {seq}; gradient checkpointing"),
        };
        lines.ForEach(Console.WriteLine);
        var results = new List<(string Name, Dictionary<string, string> Fields)>();
        foreach (string config in configs)
        {
            string load = ThroughputCommand.Load();
            // "name:glibc" runs the configuration with ThroughputConfig.GlibcTunables in the child's environment;
            // "name:mmap=KiB" with glibc's mmap threshold set from process start (MALLOC_MMAP_THRESHOLD_);
            // "name:lowmem=KiB" with TuneNativeAllocator at that threshold (set when training starts).
            string[] parts = config.Split(':');
            string option = parts.Length > 1 ? parts[1] : string.Empty;
            Dictionary<string, string>? environment = option == "glibc" ? Throughput.ThroughputConfig.GlibcEnvironment()
                : option.StartsWith("mmap=", StringComparison.Ordinal)
                    ? new Dictionary<string, string>(StringComparer.Ordinal) { ["MALLOC_MMAP_THRESHOLD_"] = (long.Parse(option["mmap=".Length..], CultureInfo.InvariantCulture) * 1024).ToString(CultureInfo.InvariantCulture) }
                    : null;
            // "name:early=KiB" with FineTuningRuntime.UseLowMemoryAllocator(KiB) called before the model is built.
            string lowMemory = option.StartsWith("lowmem=", StringComparison.Ordinal) ? " --lowmem " + option["lowmem=".Length..]
                : option.StartsWith("early=", StringComparison.Ordinal) ? " --early " + option["early=".Length..]
                : string.Empty;
            if (option.Length > 0 && environment is null && lowMemory.Length == 0)
                throw new ArgumentException($"configuration '{config}': expected name, name:glibc, name:mmap=KiB, name:lowmem=KiB or name:early=KiB");
            string output = ThroughputCommand.Child($"big-memory-child {parts[0]} {common}{lowMemory}", environment);
            string line = output.Split('\n').Last(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
            Dictionary<string, string> fields = line.Split(' ').Skip(2).Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
            results.Add((config, fields));
            string log = $"{line} load_before={load.Replace(' ', '/')}";
            Console.WriteLine(log);
            lines.Add(log);
        }

        lines.Add($"load at end {ThroughputCommand.Load()}");
        string report = Table(results) + Environment.NewLine + string.Join(Environment.NewLine, lines.Select(l => "    " + l)) + Environment.NewLine;
        Console.WriteLine(report);
        if (Option(args, "out") is { } path) File.WriteAllText(path, report);
        return 0;
    }

    /// <summary>The child: builds one configuration's model, trains warmup + timed steps, prints one RESULT line.</summary>
    public static int Child(string[] args)
    {
        string config = args[0];
        int Int(string name) => int.Parse(Option(args, name)!, CultureInfo.InvariantCulture);
        if (config == "save-hf")
        {
            using LlamaForCausalLM fp32 = BigModel.Build(BigModel.Config(Int("layers"), Int("vocab"), Int("seq")), ScalarType.Float32, null);
            FineTuning.Models.HuggingFace.HfCheckpoint.Save(fp32, Option(args, "folder")!, new FineTuning.Models.HuggingFace.HfSaveOptions { Overwrite = true });
            return 0;
        }

        int layers = Int("layers"), warmup = Int("warmup"), steps = Int("steps");
        if (Option(args, "early") is not null) FineTuningRuntime.UseLowMemoryAllocator(Int("early") * 1024);
        set_num_threads(Int("threads"));
        manual_seed(1234);
        LlamaConfig llama = BigModel.Config(layers, Int("vocab"), Int("seq"));
        ScalarType dtype = config == "lora-bf16" ? ScalarType.BFloat16 : ScalarType.Float32;
        QuantizationOptions? quantization = config.StartsWith("qlora", StringComparison.Ordinal)
            ? new QuantizationOptions
            {
                Type = QuantizationType.NF4, DoubleQuantization = config == "qlora-dq",
                // qlora-head: the output head too (as llama.cpp's Q4 files quantize output.weight); the chunked loss
                // then reads it a block of rows at a time.
                // qlora-embed: the token embedding as well (QuantizedEmbedding: the lookup dequantizes only its rows).
                Targets = config switch
                {
                    "qlora-head" => QuantizationTargets.Names([.. ProjectionNames, "lm_head"]),
                    "qlora-embed" or "qlora-embed-load" or "qlora-embed-dense-load" => QuantizationTargets.Names([.. ProjectionNames, "lm_head", "embed_tokens"]),
                    _ => QuantizationTargets.AllLinear,
                },
            }
            : null;
        double rssStart = StepRunner.RssMiB();
        // qlora-embed-load: HfCheckpoint.Load straight into quantized layers; qlora-embed-dense-load: loaded dense, then
        // quantized by WithQLoRA, the usual flow without load-time quantization; lora-load: loaded dense for LoRA.
        using LlamaForCausalLM model = config switch
        {
            "qlora-from-fp32" => BigModel.FromFp32(llama),
            "qlora-embed-load" => FineTuning.Models.HuggingFace.HfCheckpoint.Load<LlamaForCausalLM>(Option(args, "folder")!, ScalarType.Float32, quantization),
            "qlora-embed-dense-load" or "lora-load" => FineTuning.Models.HuggingFace.HfCheckpoint.Load<LlamaForCausalLM>(Option(args, "folder")!),
            _ => BigModel.Build(llama, dtype, quantization),
        };
        if (config.EndsWith("-load", StringComparison.Ordinal))
        {
            // Loaded models come back in eval mode; the tables were allocated at construction like a built model's.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Training.NativeAllocator.Trim();
        }

        double rssBuilt = StepRunner.RssMiB();
        // The peak while building (and quantizing, for qlora-from-fp32: that happens in WithQLoRA's Train below) apart from
        // the steps' own.
        double buildPeak = StepRunner.PeakRssMiB();
        StepRunner.ResetPeak();
        Console.WriteLine($"built rss={rssBuilt:F0} MiB build_peak={buildPeak:F0} MiB {PhaseProfile.Heap()}");
        FineTuner<TokenSequence> tuner = FineTuner.For(model);
        // Built quantized, the base only gets LoRA; qlora-from-fp32 quantizes in WithQLoRA as a user's loaded model would.
        tuner = config is "qlora-from-fp32" or "qlora-embed-dense-load" ? tuner.WithQLoRA(quantization!, r: 16, alpha: 32) : tuner.WithLoRA(r: 16, alpha: 32);
        PhaseProfile? profile = args.Contains("--phases") ? new PhaseProfile(phasePeaks: true) : null;
        if (profile is not null) tuner = tuner.WithObjective(profile.Wrap(model.DefaultObjective));
        var times = new List<double>();
        var stepPeaks = new List<double>();
        double peak = buildPeak;
        TimeSpan last = TimeSpan.Zero;
        double rssTrainStart = 0;
        tuner = tuner.WithOptions(o =>
        {
            o.MaxSteps = warmup + steps;
            o.BatchSize = 1;
            o.LearningRate = 1e-4;
            o.LogEverySteps = 0;
            o.ParameterDType = dtype;
            o.GradientCheckpointing = true;
            o.HeapTrimEverySteps = Int("trim");
            if (Option(args, "lowmem") is not null)
            {
                o.TuneNativeAllocator = true;
                o.NativeAllocatorMmapThreshold = Int("lowmem") * 1024;
            }

            if (profile is not null) o.Optimizer = profile.Wrap(o.Optimizer);
        }).WithProgress(new StepRunner.SyncProgress(p =>
        {
            times.Add((p.Elapsed - last).TotalSeconds);
            last = p.Elapsed;
            if (times.Count == 1) rssTrainStart = StepRunner.RssMiB();
            // This step's own peak (the phase profile resets it at each phase and keeps its own figures).
            double stepPeak = profile?.TakeStepPeak() ?? StepRunner.PeakRssMiB();
            peak = Math.Max(peak, stepPeak);
            stepPeaks.Add(stepPeak);
            Console.WriteLine(FormattableString.Invariant($"step {times.Count} rss={StepRunner.RssMiB():F0} MiB peak={stepPeak:F0} MiB {PhaseProfile.Heap()}"));
            if (profile is null) StepRunner.ResetPeak();
        }));
        var shape = new ThroughputShape(Vocab: llama.VocabSize, Batch: 1, Sequence: llama.MaxPositionEmbeddings);
        using (TrainingRun run = tuner.Train(StepRunner.Data(shape, warmup + steps))) { }
        double[] timed = times.Skip(warmup).Order().ToArray();
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT {config} rss_start_mib={rssStart:F0} rss_built_mib={rssBuilt:F0} build_peak_mib={buildPeak:F0} rss_first_step_mib={rssTrainStart:F0} peak_rss_mib={Math.Max(peak, StepRunner.PeakRssMiB()):F0} step_peaks_mib={string.Join(",", stepPeaks.Select(p => p.ToString("F0", CultureInfo.InvariantCulture)))} median_step_s={timed[timed.Length / 2]:F2} steps_s={string.Join(",", times.Skip(warmup).Select(t => t.ToString("F2", CultureInfo.InvariantCulture)))}"));
        return 0;
    }

    private static readonly string[] ProjectionNames = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    private static string Table(List<(string Name, Dictionary<string, string> Fields)> results)
    {
        double Number(Dictionary<string, string> r, string key) => double.Parse(r[key], CultureInfo.InvariantCulture);
        var lines = new List<string>
        {
            "| configuration | resident after building | peak while building | after the first step | peak RSS | first step's peak | later steps' peak | peak vs LoRA fp32 | median step | step vs LoRA fp32 |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        };
        foreach ((string name, Dictionary<string, string> r) in results)
        {
            // Each row against the fp32 LoRA row run the same way ("lora:glibc" for a ":glibc" row; "lora-load" for a row
            // loaded from a folder), else against "lora".
            string suffix = name.Contains(':', StringComparison.Ordinal) ? name[name.IndexOf(':', StringComparison.Ordinal)..] : string.Empty;
            string lora = name.Split(':')[0].EndsWith("-load", StringComparison.Ordinal) ? "lora-load" : "lora";
            Dictionary<string, string>? baseline = results.FirstOrDefault(b => b.Name == lora + suffix).Fields
                ?? results.FirstOrDefault(b => b.Name == "lora" + suffix).Fields ?? results.FirstOrDefault(b => b.Name == "lora").Fields;
            string Ratio(string key, string format) => baseline is null ? "-" : (Number(r, key) / Number(baseline, key)).ToString(format, CultureInfo.InvariantCulture);
            double[] stepPeaks = r["step_peaks_mib"].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => double.Parse(p, CultureInfo.InvariantCulture)).ToArray();
            string later = stepPeaks.Length > 1 ? FormattableString.Invariant($"{stepPeaks.Skip(1).Max():F0} MiB") : "-";
            string first = stepPeaks.Length > 0 ? FormattableString.Invariant($"{stepPeaks[0]:F0} MiB") : "-";
            lines.Add(FormattableString.Invariant(
                $"| {name} | {Number(r, "rss_built_mib"):F0} MiB | {Number(r, "build_peak_mib"):F0} MiB | {Number(r, "rss_first_step_mib"):F0} MiB | {Number(r, "peak_rss_mib"):F0} MiB | {first} | {later} | {Ratio("peak_rss_mib", "P0")} | {Number(r, "median_step_s"):F2} s | {Ratio("median_step_s", "F2")}x |"));
        }

        return string.Join(Environment.NewLine, lines) + Environment.NewLine;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, "--" + name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
