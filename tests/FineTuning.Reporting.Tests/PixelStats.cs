using System;
using SkiaSharp;

namespace FineTuning.Reporting.Tests;

/// <summary>
/// How much is drawn on an image: luminance variance (0 for one flat colour), the fraction of pixels that are not near
/// white, and the fraction that are strongly coloured (max - min channel above 100: chart lines; text, grids and
/// borders are grey). Shared with .ci/checks/report-screenshot/ImageCheck, which links this file.
/// </summary>
internal sealed record PixelStats(int Width, int Height, double LuminanceVariance, double NonWhiteFraction, double ColouredFraction)
{
    public static PixelStats Of(byte[] png)
    {
        using SKBitmap bitmap = SKBitmap.Decode(png) ?? throw new InvalidOperationException("not a decodable image");
        return Of(bitmap, bitmap.Height);
    }

    /// <summary>Measures the top <paramref name="rows"/> rows of <paramref name="bitmap"/>.</summary>
    public static PixelStats Of(SKBitmap bitmap, int rows)
    {
        double sum = 0, squares = 0;
        long nonWhite = 0, coloured = 0;
        for (int y = 0; y < rows; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                SKColor c = bitmap.GetPixel(x, y);
                double luminance = (0.2126 * c.Red + 0.7152 * c.Green + 0.0722 * c.Blue) / 255.0;
                sum += luminance;
                squares += luminance * luminance;
                if (luminance < 0.95) nonWhite++;
                if (Math.Max(c.Red, Math.Max(c.Green, c.Blue)) - Math.Min(c.Red, Math.Min(c.Green, c.Blue)) > 100) coloured++;
            }
        }
        double n = (double)bitmap.Width * rows, mean = sum / n;
        return new PixelStats(bitmap.Width, rows, squares / n - mean * mean, nonWhite / n, coloured / n);
    }
}
