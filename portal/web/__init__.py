"""The web portal: dashboard, job composer, queue, job pages, cluster status."""
