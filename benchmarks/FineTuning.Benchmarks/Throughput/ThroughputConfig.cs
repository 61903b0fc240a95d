using System;
using System.Collections.Generic;
using System.Globalization;
using TorchSharp;

namespace FineTuning.Benchmarks.Throughput;

/// <summary>
/// One configuration, written <c>kind-adapter[:option...]</c>: kind <c>ours</c> (FineTuner), <c>plain</c> (the TorchSharp
/// loop) or <c>pytorch</c> (benchmarks/pytorch/step.py); adapter <c>lora</c>, <c>qlora</c> or <c>full</c>; options
/// <c>bf16</c>, <c>dq</c> (double quantization), <c>mmap=MiB</c> (glibc's M_MMAP_THRESHOLD for the process, through
/// MALLOC_MMAP_THRESHOLD_), <c>trimthreshold=MiB</c> (glibc's M_TRIM_THRESHOLD, through MALLOC_TRIM_THRESHOLD_), <c>tune=true|false</c> (TuneNativeAllocator), <c>trim=N</c> (HeapTrimEverySteps), <c>profile</c> (phase times and memory, <see cref="PhaseProfile"/>), <c>unfused</c> (LLaMA layers without the fused
/// SwiGLU function and RMSNorm kernel), <c>opsnorm</c> (RMSNorm as ordinary ops, the rest as by default), <c>opsrope</c> (the same for the rotary embedding), <c>opsswiglu</c> (the fused SwiGLU node with libtorch's ops inside instead of its C# loops), <c>opsloss</c> (the chunked loss with libtorch's ops instead of its C# loop), <c>passive</c> (<c>OMP_WAIT_POLICY=PASSIVE</c>), <c>serialkernels</c> (the C# kernels on the calling thread only: <c>FINETUNING_KERNEL_THREADS=0</c>), <c>ckpt</c> (<c>GradientCheckpointing = true</c>, ours only), <c>glibc</c> (the child runs with
/// <see cref="GlibcTunables"/>: glibc's per-thread cache and fast bins off, docs/benchmarks/hot-paths.md).
/// </summary>
internal sealed record ThroughputConfig(string Name, string Kind, string Adapter)
{
    public torch.ScalarType DType { get; init; } = torch.ScalarType.Float32;

    public bool DoubleQuantization { get; init; }

    public int? MmapThresholdMiB { get; init; }

    /// <summary>glibc's M_TRIM_THRESHOLD for the child (MALLOC_TRIM_THRESHOLD_): free memory at the heap's top above it goes back to the kernel.</summary>
    public int? TrimThresholdMiB { get; init; }

    public bool? TuneAllocator { get; init; }

    public int? TrimEverySteps { get; init; }

    /// <summary>Split each step into phases with <see cref="PhaseProfile"/> (ours only).</summary>
    public bool Profile { get; init; }

    /// <summary>Run LLaMA's layers with ordinary ops instead of the fused autograd functions (ours only): the before/after comparison.</summary>
    public bool Unfused { get; init; }

    /// <summary>Run the child with <c>OMP_WAIT_POLICY=PASSIVE</c>: libgomp's idle workers sleep instead of spinning.</summary>
    public bool PassiveOpenMp { get; init; }

    /// <summary>Run the child with <c>FINETUNING_KERNEL_THREADS=0</c>: the C# kernels stay on the calling thread (the before/after comparison).</summary>
    public bool SerialKernels { get; init; }

    /// <summary>Rotary embedding as ordinary ops instead of the C# kernel (ours only).</summary>
    public bool OpsRope { get; init; }

    /// <summary>RMSNorm as ordinary ops instead of the C# kernel (ours only): the before/after comparison.</summary>
    public bool OpsNorm { get; init; }

    /// <summary>The fused SwiGLU node with libtorch's ops inside instead of its C# loops (ours only): the before/after comparison.</summary>
    public bool OpsSwiGlu { get; init; }

    /// <summary>The chunked loss with libtorch's ops instead of its C# loop (ours only): the before/after comparison.</summary>
    public bool OpsLoss { get; init; }

    /// <summary>Recompute each decoder layer in backward (<c>GradientCheckpointing = true</c>; ours only).</summary>
    public bool Checkpointing { get; init; }

    /// <summary>Run the child with <see cref="GlibcTunables"/> in its environment.</summary>
    public bool Glibc { get; init; }

    /// <summary>Run the child with <c>THP_MEM_ALLOC_ENABLE=1</c>: libtorch aligns tensors of 2 MiB or more to 2 MiB and advises transparent huge pages for them.</summary>
    public bool HugePages { get; init; }

    /// <summary>
    /// glibc tunables that turn off the per-thread cache and the fast bins, whose small chunks (the remainders of
    /// libtorch's aligned allocations) otherwise sit between freed tensors and keep them from merging.
    /// </summary>
    public const string GlibcTunables = "glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0";

    public bool Full => Adapter == "full";

    /// <summary>The environment variables the child process gets for this configuration.</summary>
    public Dictionary<string, string> Environment()
    {
        Dictionary<string, string> environment = Glibc ? GlibcEnvironment() : new(StringComparer.Ordinal);
        if (HugePages) environment["THP_MEM_ALLOC_ENABLE"] = "1";
        if (PassiveOpenMp) environment["OMP_WAIT_POLICY"] = "PASSIVE";
        if (SerialKernels) environment["FINETUNING_KERNEL_THREADS"] = "0";
        if (MmapThresholdMiB is { } mib) environment["MALLOC_MMAP_THRESHOLD_"] = (mib * 1024L * 1024L).ToString(CultureInfo.InvariantCulture);
        if (TrimThresholdMiB is { } trim) environment["MALLOC_TRIM_THRESHOLD_"] = (trim * 1024L * 1024L).ToString(CultureInfo.InvariantCulture);
        return environment;
    }

    /// <summary>The environment of a child that runs with <see cref="GlibcTunables"/>.</summary>
    public static Dictionary<string, string> GlibcEnvironment() => new(StringComparer.Ordinal) { ["GLIBC_TUNABLES"] = GlibcTunables };

    public static ThroughputConfig Parse(string text)
    {
        string[] parts = text.Split(':');
        string[] head = parts[0].Split('-');
        if (head.Length != 2 || head[0] is not ("ours" or "plain" or "pytorch") || head[1] is not ("lora" or "qlora" or "full"))
            throw new ArgumentException($"configuration '{text}': expected ours|plain|pytorch-lora|qlora|full, e.g. ours-lora:mmap=64");
        var config = new ThroughputConfig(text, head[0], head[1]);
        foreach (string option in parts[1..])
        {
            string[] kv = option.Split('=', 2);
            config = kv[0] switch
            {
                "bf16" => config with { DType = torch.ScalarType.BFloat16 },
                "dq" => config with { DoubleQuantization = true },
                "mmap" => config with { MmapThresholdMiB = Number(text, kv) },
                "trimthreshold" => config with { TrimThresholdMiB = Number(text, kv) },
                "tune" => config with { TuneAllocator = kv.Length == 2 && bool.Parse(kv[1]) },
                "trim" => config with { TrimEverySteps = Number(text, kv) },
                "profile" => config with { Profile = true },
                "unfused" => config with { Unfused = true },
                "ckpt" => config with { Checkpointing = true },
                "opsnorm" => config with { OpsNorm = true },
                "opsrope" => config with { OpsRope = true },
                "opsswiglu" => config with { OpsSwiGlu = true },
                "opsloss" => config with { OpsLoss = true },
                "passive" => config with { PassiveOpenMp = true },
                "serialkernels" => config with { SerialKernels = true },
                "glibc" => config with { Glibc = true },
                "thp" => config with { HugePages = true },
                _ => throw new ArgumentException($"configuration '{text}': unknown option '{option}' (bf16, dq, mmap=MiB, trimthreshold=MiB, tune=true|false, trim=N, profile, unfused, opsnorm, opsrope, opsswiglu, opsloss, passive, serialkernels, ckpt, glibc, thp)"),
            };
        }

        if (config.Glibc && config.Kind == "pytorch") throw new ArgumentException($"configuration '{text}': glibc applies to the .NET configurations");
        if (config.Checkpointing && config.Kind != "ours") throw new ArgumentException($"configuration '{text}': ckpt (gradient checkpointing) is ours only");
        if (config.Kind == "plain" && config.Adapter == "qlora") throw new ArgumentException($"configuration '{text}': the plain loop has no QLoRA");
        return config;
    }

    private static int Number(string text, string[] kv) =>
        kv.Length == 2 && int.TryParse(kv[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            ? n
            : throw new ArgumentException($"configuration '{text}': '{kv[0]}' needs a whole number, e.g. {kv[0]}=16");
}
