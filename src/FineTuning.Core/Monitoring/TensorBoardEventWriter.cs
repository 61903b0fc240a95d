using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using FineTuning.Training;

namespace FineTuning.Monitoring;

/// <summary>
/// Writes a TensorBoard event file (<c>events.out.tfevents.&lt;time&gt;.&lt;host&gt;</c>) of scalars, readable by
/// <c>tensorboard --logdir</c>: TFRecord framing (length, masked CRC-32C of the length, the record, its masked CRC-32C)
/// around <c>Event</c> protobufs, the first of which is <c>file_version: "brain.Event:2"</c>. As a callback it logs the
/// tags Hugging Face's <c>TensorBoardCallback</c> uses: <c>train/loss</c>, <c>train/learning_rate</c>,
/// <c>train/grad_norm</c>, <c>train/epoch</c>, <c>eval/loss</c>, <c>eval/perplexity</c> and <c>eval/&lt;metric&gt;</c> for
/// every named metric. Every event is flushed as it is written. Values are stored as 32-bit floats (TensorBoard's
/// <c>simple_value</c>). <see cref="TrainingOptions.LoggingDirectory"/> adds one.
/// </summary>
public sealed class TensorBoardEventWriter : ITrainingCallback, IDisposable
{
    private readonly FileStream _stream;
    private readonly Func<double> _wallTime;

    private TensorBoardEventWriter(string path, Func<double> wallTime)
    {
        _wallTime = wallTime;
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        Path = path;
        Write(EventProto.FileVersion(_wallTime()));
    }

    /// <summary>The full path of the event file.</summary>
    public string Path { get; }

    /// <summary>
    /// Creates a new event file in <paramref name="directory"/> (created when missing), named as TensorFlow names them;
    /// a suffix <c>.1</c>, <c>.2</c>, ... keeps two writers started in the same second apart.
    /// </summary>
    /// <param name="directory">The log directory (what <c>tensorboard --logdir</c> is pointed at).</param>
    /// <param name="timeProvider">The clock of <c>wall_time</c> and the file name; default the system clock.</param>
    public static TensorBoardEventWriter Create(string directory, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        TimeProvider clock = timeProvider ?? TimeProvider.System;
        Func<double> wallTime = () => clock.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        Directory.CreateDirectory(directory);
        string stem = System.IO.Path.Combine(System.IO.Path.GetFullPath(directory), string.Create(CultureInfo.InvariantCulture,
            $"events.out.tfevents.{clock.GetUtcNow().ToUnixTimeSeconds():D10}.{Environment.MachineName}"));
        for (int attempt = 0; ; attempt++)
        {
            string path = attempt == 0 ? stem : stem + "." + attempt.ToString(CultureInfo.InvariantCulture);
            if (File.Exists(path)) continue;
            try
            {
                return new TensorBoardEventWriter(path, wallTime);
            }
            catch (IOException) when (File.Exists(path) && attempt < 100)
            {
                // another writer took the name between the check and the creation: try the next suffix
            }
        }
    }

    /// <summary>Appends one scalar <paramref name="value"/> for <paramref name="tag"/> at <paramref name="step"/>.</summary>
    public void AddScalar(string tag, double value, long step)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        Write(EventProto.Scalar(_wallTime(), step, tag, (float)value));
    }

    /// <inheritdoc />
    public void OnStep(TrainingRun run, StepMetrics step)
    {
        ArgumentNullException.ThrowIfNull(step);
        AddScalar("train/loss", step.Loss, step.Step);
        AddScalar("train/learning_rate", step.LearningRate, step.Step);
        AddScalar("train/grad_norm", step.GradientNorm, step.Step);
        AddScalar("train/epoch", step.Epoch, step.Step);
    }

    /// <inheritdoc />
    public void OnEvaluate(TrainingRun run, EvaluationMetrics evaluation)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        AddScalar("eval/loss", evaluation.Loss, evaluation.Step);
        AddScalar("eval/perplexity", evaluation.Perplexity, evaluation.Step);
        foreach (KeyValuePair<string, double> metric in MetricNames.Ordered(evaluation.Metrics))
            AddScalar("eval/" + metric.Key, metric.Value, evaluation.Step);
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    private void Write(byte[] record)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)record.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(record));
        _stream.Write(header);
        _stream.Write(record);
        _stream.Write(footer);
        _stream.Flush(flushToDisk: false);
    }
}
